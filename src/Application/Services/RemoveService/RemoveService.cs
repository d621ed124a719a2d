using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Services.RemoveService;

/// <summary>
/// Stops serving a Service here: its listeners drain and stop, its ports are released
/// (<see cref="ReleaseLoadBalancerIp"/>), and its IP leaves the link device when no other Service uses it. Removing a
/// Service that runs and holds nothing succeeds. Its status is the reconciler's business: cleared when the Service is
/// gone, kept when this replica only stands down.
/// </summary>
public sealed record RemoveService(string Namespace, string Name) : ICommand<RemoveServiceResponse>
{
    /// <summary>How long open connections may drain; null takes <see cref="ServiceOptions.DrainTimeout"/>.</summary>
    public TimeSpan? DrainTimeout { get; init; }
}

public sealed record RemoveServiceResponse : IValidationFailureResponse<RemoveServiceResponse>
{
    /// <summary>True when the Service ran or held an IP.</summary>
    public bool Removed { get; init; }

    /// <summary>The IP it had (its primary one).</summary>
    public IPAddress? Ip { get; init; }

    /// <summary>Every IP it had, primary first.</summary>
    public IReadOnlyList<IPAddress> Ips { get; init; } = [];

    /// <summary>The port bindings it held, free now.</summary>
    public IReadOnlyList<PortBinding> Freed { get; init; } = [];

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public bool Succeeded => ValidationErrors.Count == 0;

    public static RemoveServiceResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class RemoveServiceHandler(
    ISender sender,
    IAppliedServiceRegistry applied,
    ILinkDevice link,
    IForwarder forwarder,
    IOptions<ServiceOptions> options,
    ILogger<RemoveServiceHandler> logger)
    : ICommandHandler<RemoveService, RemoveServiceResponse>
{
    public async ValueTask<RemoveServiceResponse> Handle(RemoveService command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var key = new ServiceKey(command.Namespace, command.Name);
        var drains = new List<Task>();
        var unused = new List<IPAddress>();
        try
        {
            using (await applied.EnterAsync(cancellationToken).ConfigureAwait(false))
            {
                var previous = applied.Find(key);

                // Forgotten first: whatever happens while draining, the Service no longer counts as running.
                applied.Remove(key);
                var released = await sender.Send(new ReleaseLoadBalancerIp(command.Namespace, command.Name), CancellationToken.None)
                    .ConfigureAwait(false);
                var releases = released.Releases;
                if (previous is not null)
                {
                    foreach (var listener in previous.Listeners)
                    {
                        drains.Add(await forwarder.DetachAsync(listener.Binding, command.DrainTimeout ?? options.Value.DrainTimeout, cancellationToken)
                            .ConfigureAwait(false));
                        ServiceLog.ListenerStopped(logger, key, listener.Binding);
                    }
                }

                // Every IP it had (both families of a dual-stack Service) leaves the link once nobody else holds it.
                var ips = releases.Select(release => release.Ip!).Concat(previous?.Ips ?? []).Distinct().ToList();
                foreach (var one in ips)
                {
                    var release = releases.FirstOrDefault(release => one.Equals(release.Ip));
                    if ((release is null || release.IpUnused) && !applied.IsIpHeld(one))
                    {
                        unused.Add(one);
                    }
                }

                if (previous is null && releases.Count == 0)
                {
                    return new RemoveServiceResponse();
                }

                var ip = ips.Count > 0 ? ips[0] : null;
                ServiceLog.Removed(logger, key, ip);
                return new RemoveServiceResponse { Removed = true, Ip = ip, Ips = ips, Freed = [.. releases.SelectMany(release => release.Freed)] };
            }
        }
        finally
        {
            // Also when detaching failed: an unused address must not stay.
            await LinkAddresses.RemoveAfterDrainsAsync(applied, link, drains, unused, logger).ConfigureAwait(false);
        }
    }
}
