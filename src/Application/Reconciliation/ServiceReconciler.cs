using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.State;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// Keeps what runs equal to what the source wants, for every source alike. A term (while this replica serves) starts by
/// restoring the IPs the source's records hold, so that neither a restart nor a new leader moves an IP; then it
/// reconciles every Service, removes pool addresses nobody wants, and follows the source's changes until the term ends,
/// when it stops serving everything here and keeps the records for whoever serves next.
/// </summary>
public interface IServiceReconciler
{
    /// <summary>Completes once the current term has reconciled every Service once; a new task each term.</summary>
    Task Ready { get; }

    /// <summary>Whether a term runs: this replica serves.</summary>
    bool IsServing { get; }

    /// <summary>
    /// One term, until <paramref name="term"/> is cancelled. Connections drain for the shutdown drain when
    /// <paramref name="stopping"/> is cancelled too (the daemon stops), else for the hand-over drain.
    /// </summary>
    Task RunTermAsync(CancellationToken term, CancellationToken stopping);

    /// <summary>
    /// Keeps this replica ready for its next term while none runs (the recorded IPs read again after each change), so
    /// that taking over only applies; runs until <paramref name="stopping"/> is cancelled, beside the terms.
    /// </summary>
    Task StandByAsync(CancellationToken stopping);
}

internal sealed class ServiceReconciler(
    IServiceSource source,
    ISender sender,
    IAppliedServiceRegistry applied,
    IServiceStatusWriter status,
    IEventRecorder events,
    RecentEvents recentEvents,
    ReconcileMetrics metrics,
    ReconcileQueue front,
    ReconcilerState current,
    RecordedAllocations recorded,
    IOptions<ReconcilerOptions> options,
    TimeProvider time,
    ILogger<ServiceReconciler> logger)
    : IServiceReconciler
{
    private const int StandDownParallelism = 64;

    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Ready => Volatile.Read(ref _ready).Task;

    public bool IsServing => current.IsServing;

    public Task StandByAsync(CancellationToken stopping) => recorded.RunAsync(stopping);

    public async Task RunTermAsync(CancellationToken term, CancellationToken stopping)
    {
        var started = time.GetTimestamp();
        var settings = options.Value;
        var queue = new KeyedWorkQueue<ServiceKey>(
            new WorkQueueOptions { BaseDelay = settings.RetryDelay, MaxDelay = settings.MaxRetryDelay }, time, logger);
        var state = new TermState(queue, new ServiceConditions(events, recentEvents));
        var step = new ReconcileStep(source, sender, applied, status, state, logger);
        await recorded.EnterTermAsync(term).ConfigureAwait(false);
        current.Enter(state, source);
        metrics.BeganServing();
        try
        {
            // Off this thread: the sink's list must not hold up the restore, not even for the part it runs before it awaits.
            state.Conditions.SeedFrom(Task.Run(() => events.HeldAsync(term).AsTask(), term), failure => ReconcileLog.HeldEventsUnreadable(logger, failure.Message));
            front.Attach(queue, () => Everything(state), state.Parked);
            foreach (var key in source.Keys())
            {
                queue.Enqueue(key);
            }

            // The workers stop with the term, and also when the first pass fails: nothing else would stop them.
            using var workers = CancellationTokenSource.CreateLinkedTokenSource(term);
            var working = queue.RunAsync(Timed(step), settings.Workers, workers.Token);
            try
            {
                await queue.WhenIdleAsync(term).ConfigureAwait(false);

                // Only now that every Service has been applied can an address nobody wants be called stale.
                await sender.Send(new RemoveStaleAddresses(), term).ConfigureAwait(false);
                var allocations = await sender.Send(new GetAllocations(), term).ConfigureAwait(false);
                var elapsed = (long)time.GetElapsedTime(started).TotalMilliseconds;
                var served = applied.All().Count;
                ReconcileLog.Ready(logger, served, state.Parked.Count, allocations.Leases.Count, allocations.Pool, elapsed);
                Volatile.Read(ref _ready).TrySetResult();

                // Following changes from here on, until the term ends.
                await working.ConfigureAwait(false);
            }
            finally
            {
                if (!working.IsCompleted)
                {
                    await workers.CancelAsync().ConfigureAwait(false);
                    await working.ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (term.IsCancellationRequested)
        {
        }
        finally
        {
            front.Detach();
            await StandDownAsync(stopping.IsCancellationRequested ? settings.ShutdownDrain : settings.HandOverDrain).ConfigureAwait(false);
            current.Leave();
            recorded.LeaveTerm();
            metrics.StoppedServing();
            Interlocked.Exchange(ref _ready, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }

    /// <summary>Each Service's reconcile, timed; one that throws is retried by the queue and counted as an error.</summary>
    private Func<ServiceKey, CancellationToken, Task> Timed(ReconcileStep step) => async (key, cancellationToken) =>
    {
        var started = time.GetTimestamp();
        var succeeded = false;
        try
        {
            await step.RunAsync(key, cancellationToken).ConfigureAwait(false);
            succeeded = true;
        }
        finally
        {
            metrics.Reconciled(time.GetElapsedTime(started), succeeded);
        }
    };

    /// <summary>Every Service a full pass looks at: the source's, and those served or waiting here (gone from the source).</summary>
    private IEnumerable<ServiceKey> Everything(TermState state) =>
        source.Keys().Concat(applied.All().Select(service => service.Key)).Concat(state.Parked.Keys).Distinct();

    /// <summary>
    /// Stops serving everything here and keeps the records, for the next leader or this daemon after a restart. Services
    /// that were only restored are released too, so their addresses do not stay behind.
    /// </summary>
    private async Task StandDownAsync(TimeSpan drain)
    {
        var allocations = await sender.Send(new GetAllocations(), CancellationToken.None).ConfigureAwait(false);
        var keys = applied.All().Select(service => service.Key)
            .Concat(allocations.Leases.SelectMany(lease => lease.Owners))
            .Distinct()
            .ToList();

        // In parallel: each removal holds the apply lock only to detach, so the drains overlap and standing down takes
        // one drain, not one per Service.
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = StandDownParallelism }, async (key, _) =>
        {
            try
            {
                await sender.Send(new RemoveService(key.Namespace, key.Name) { DrainTimeout = drain }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                ReconcileLog.StandDownFailed(logger, key, failure.Message);
            }
        }).ConfigureAwait(false);

        ReconcileLog.StoodDown(logger, keys.Count);

        // Whatever a cancelled step left on the link (an apply cut short between the device and the registry, a release
        // that lost a race with the term's end) goes too: nothing is applied now, so every pool address there is stale.
        try
        {
            await sender.Send(new RemoveStaleAddresses(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            ReconcileLog.StaleSweepFailed(logger, failure.Message);
        }
    }
}
