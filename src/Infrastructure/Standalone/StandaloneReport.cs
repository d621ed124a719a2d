using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.GetAppliedServices;
using Mediator;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Shows the person who started the standalone mode what runs, the way a newcomer reads it: where to send a request and
/// where it goes, once at start and again after each edit of the file has been reconciled.
/// </summary>
internal sealed class StandaloneReport(
    StandaloneServiceSource source,
    IServiceReconciler reconciler,
    IReconcileQueue queue,
    ISender sender,
    StandaloneConsole console)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        try
        {
            await reconciler.Ready.WaitAsync(stopping).ConfigureAwait(false);
            await PrintAsync(stopping).ConfigureAwait(false);
            await foreach (var applied in source.Applied.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                await queue.WhenIdleAsync(stopping).ConfigureAwait(false);
                foreach (var key in applied.Removed)
                {
                    await console.Output.WriteLineAsync($"removed {key}").ConfigureAwait(false);
                }

                if (applied.Changed)
                {
                    await PrintAsync(stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task PrintAsync(CancellationToken cancellationToken)
    {
        var running = await sender.Send(new GetAppliedServices(), cancellationToken).ConfigureAwait(false);
        foreach (var line in Describe(running))
        {
            await console.Output.WriteLineAsync(line).ConfigureAwait(false);
        }

        var served = running.Select(service => service.Key).ToHashSet();
        foreach (var key in source.Keys().Where(key => !served.Contains(key)))
        {
            await console.Output.WriteLineAsync($"{key} → not served (the warning logged for it says why)").ConfigureAwait(false);
        }

        var allocations = await sender.Send(new GetAllocations(), cancellationToken).ConfigureAwait(false);
        await console.Output.WriteLineAsync(
            $"pool {allocations.Pool}: {allocations.Leases.Count} address{(allocations.Leases.Count == 1 ? string.Empty : "es")} in use").ConfigureAwait(false);
    }

    internal static IEnumerable<string> Describe(IReadOnlyList<AppliedService> services)
    {
        foreach (var service in services)
        {
            if (service.Listeners.Count == 0)
            {
                yield return $"{service.Key} → {service.Ip} (no TCP ports)";
            }

            foreach (var listener in service.Listeners)
            {
                var backends = listener.Backends.Count == 0 ? "no backends" : string.Join(", ", listener.Backends);
                yield return $"{service.Key} → {listener.Binding} → {backends}";
            }
        }
    }
}
