using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Services.RemoveService;

/// <summary>
/// Takes a Service down: its listeners drain and stop, its ports are released, its IP leaves the link device when no
/// other Service uses it, and its status is cleared. Removing a Service that runs nothing succeeds.
/// </summary>
public sealed record RemoveService(string Namespace, string Name) : ICommand<RemoveServiceResponse>
{
    /// <summary>
    /// Stop serving here but leave the Service's status and allocation record in the cluster alone: the daemon is shutting
    /// down or lost leadership, and the IP must survive for the next owner. No Event is recorded either.
    /// </summary>
    public bool KeepStatus { get; init; }

    /// <summary>How long open connections may drain; null takes <see cref="ServiceOptions.DrainTimeout"/>.</summary>
    public TimeSpan? DrainTimeout { get; init; }
}

public sealed record RemoveServiceResponse : IValidationFailureResponse<RemoveServiceResponse>
{
    /// <summary>True when the Service ran or held an IP.</summary>
    public bool Removed { get; init; }

    /// <summary>The IP it had.</summary>
    public IPAddress? Ip { get; init; }

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public bool Succeeded => ValidationErrors.Count == 0;

    public static RemoveServiceResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class RemoveServiceHandler(
    IAllocationRegistry allocations,
    IAppliedServiceRegistry applied,
    ILinkDevice link,
    IForwarder forwarder,
    IServiceStatusWriter status,
    IEventRecorder events,
    IOptions<ServiceOptions> options,
    ILogger<RemoveServiceHandler> logger)
    : ICommandHandler<RemoveService, RemoveServiceResponse>
{
    public const string ReleasedReason = "IPReleased";

    public async ValueTask<RemoveServiceResponse> Handle(RemoveService command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var key = new ServiceKey(command.Namespace, command.Name);
        var drains = new List<Task>();
        IPAddress? unused = null;
        IPAddress? ip;
        bool ran;
        RemoveServiceResponse response;
        try
        {
            using (await applied.EnterAsync(cancellationToken).ConfigureAwait(false))
            {
                var previous = applied.Find(key);

                // Forgotten first: whatever happens while draining, the Service no longer counts as running.
                applied.Remove(key);
                var release = allocations.Release(key);
                if (previous is not null)
                {
                    foreach (var listener in previous.Listeners)
                    {
                        drains.Add(await forwarder.DetachAsync(listener.Binding, command.DrainTimeout ?? options.Value.DrainTimeout, cancellationToken)
                            .ConfigureAwait(false));
                        ServiceLog.ListenerStopped(logger, key, listener.Binding);
                    }
                }

                ip = release.Ip ?? previous?.Ip;
                ran = previous is not null || release.WasAllocated;
                if (ip is not null && (release.IpUnused || !release.WasAllocated) && !applied.IsIpHeld(ip))
                {
                    unused = ip;
                }
            }

            // API round trips, outside the lock (the caller sends one command per Service at a time).
            response = await ReportAsync(command, key, ran, ip, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Also when the status write failed: the listeners are detached, and an unused address must not stay.
            await LinkAddresses.RemoveAfterDrainsAsync(applied, link, drains, unused, logger).ConfigureAwait(false);
        }

        return response;
    }

    private async Task<RemoveServiceResponse> ReportAsync(RemoveService command, ServiceKey key, bool ran, IPAddress? ip, CancellationToken cancellationToken)
    {
        if (!ran)
        {
            return new RemoveServiceResponse();
        }

        if (command.KeepStatus)
        {
            ServiceLog.StoodDown(logger, key, ip);
            return new RemoveServiceResponse { Removed = true, Ip = ip };
        }

        await status.WriteAsync(key, null, cancellationToken).ConfigureAwait(false);
        await events.RecordAsync(new ServiceEvent(key, ServiceEventType.Normal, ReleasedReason, $"Released IP {ip}"), cancellationToken)
            .ConfigureAwait(false);
        ServiceLog.Removed(logger, key, ip);
        return new RemoveServiceResponse { Removed = true, Ip = ip };
    }
}
