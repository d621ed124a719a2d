using LoadBalancer.Application.Abstractions;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// A serving mode from start to stop: the source reads its world; once it has, the reconciler serves for as long as
/// the leadership says this replica should (always, for a single daemon).
/// </summary>
public sealed class ServingDaemon(IServiceSource source, IServiceReconciler reconciler, ILeadership leadership, ILogger<ServingDaemon> logger)
{
    /// <summary>Runs until <paramref name="stopping"/> is cancelled, then stands down.</summary>
    /// <returns>False when the source could not start (it has said why); nothing was served then.</returns>
    public async Task<bool> RunAsync(CancellationToken stopping)
    {
        using var sourceStopping = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var reading = source.RunAsync(sourceStopping.Token);
        try
        {
            try
            {
                await source.Ready.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return true;
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                ReconcileLog.SourceFailed(logger, failure.Message);
                return false;
            }

            // Standing by runs beside the terms (it pauses while one runs) and ends with the daemon.
            var standingBy = reconciler.StandByAsync(stopping);
            try
            {
                await leadership.RunAsync(term => reconciler.RunTermAsync(term, stopping), stopping).ConfigureAwait(false);
            }
            finally
            {
                await standingBy.ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            await sourceStopping.CancelAsync().ConfigureAwait(false);
            await reading.ConfigureAwait(false);
        }
    }
}

/// <summary>The leadership of a daemon that has no peers: it serves from start to stop.</summary>
internal sealed class SoleLeadership : ILeadership
{
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(lead);
        try
        {
            await lead(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
