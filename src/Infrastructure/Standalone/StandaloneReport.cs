using System.Threading.Channels;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.GetAppliedServices;
using Mediator;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Shows the person who started the standalone mode what runs, the way a newcomer reads it: where to send a request and
/// where it goes. Printed at start, after each edit of the file has been reconciled, and whenever what runs changes on
/// its own (a Service whose port was busy is served once the port frees).
/// </summary>
internal sealed class StandaloneReport(
    StandaloneServiceSource source,
    IServiceReconciler reconciler,
    IReconcileQueue queue,
    ISender sender,
    StandaloneOptions options,
    StandaloneConsole console,
    TimeProvider time)
    : BackgroundService
{
    private string? _printed;

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        try
        {
            await reconciler.Ready.WaitAsync(stopping).ConfigureAwait(false);
            await PrintIfChangedAsync(stopping).ConfigureAwait(false);
            while (!stopping.IsCancellationRequested)
            {
                var edits = await NextAsync(stopping).ConfigureAwait(false);
                await queue.WhenIdleAsync(stopping).ConfigureAwait(false);
                foreach (var key in edits.SelectMany(edit => edit.Removed))
                {
                    await console.Output.WriteLineAsync($"removed {key}").ConfigureAwait(false);
                }

                await PrintIfChangedAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
            // The source stopped: there is nothing more to report.
        }
    }

    /// <summary>The edits of the file used since the last look, or none when a poll interval passed without one.</summary>
    private async Task<List<FileApplied>> NextAsync(CancellationToken stopping)
    {
        using (var poll = new CancellationTokenSource(options.PollInterval, time))
        using (var either = CancellationTokenSource.CreateLinkedTokenSource(stopping, poll.Token))
        {
            try
            {
                if (!await source.Applied.WaitToReadAsync(either.Token).ConfigureAwait(false))
                {
                    throw new ChannelClosedException();
                }
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                return [];
            }
        }

        var edits = new List<FileApplied>();
        while (source.Applied.TryRead(out var edit))
        {
            edits.Add(edit);
        }

        return edits;
    }

    private async Task PrintIfChangedAsync(CancellationToken cancellationToken)
    {
        var running = await sender.Send(new GetAppliedServices(), cancellationToken).ConfigureAwait(false);
        var served = running.Select(service => service.Key).ToHashSet();
        var lines = Describe(running)
            .Concat(source.Keys().Where(key => !served.Contains(key)).Select(key => $"{key} → not served (the warning logged for it says why)"))
            .ToList();
        var allocations = await sender.Send(new GetAllocations(), cancellationToken).ConfigureAwait(false);
        lines.Add($"pool {allocations.Pool}: {allocations.Leases.Count} address{(allocations.Leases.Count == 1 ? string.Empty : "es")} in use");

        var table = string.Join(Environment.NewLine, lines);
        if (table == _printed)
        {
            return;
        }

        _printed = table;
        await console.Output.WriteLineAsync(table).ConfigureAwait(false);
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
