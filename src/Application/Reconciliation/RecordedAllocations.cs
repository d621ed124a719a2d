using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using Mediator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// The IPs the source's records hold, seeded into the allocator so that neither a restart nor a new leader moves an IP.
/// Between terms (a standby, or a daemon waiting for its first term) they are read again shortly after each change the
/// source tells of, so that a term that starts finds them restored already and goes straight to applying Services: at
/// 5,000 Services the reading costs a few hundred milliseconds that a takeover no longer waits for.
/// </summary>
/// <remarks>
/// Nothing is applied between terms, so the allocator holds nothing but the records then, and reading them again
/// replaces what it holds (<see cref="RestoreAllocations.ReplaceExisting"/>). A term stops the readings while it runs;
/// its stand-down releases everything, after which they start again.
/// </remarks>
internal sealed class RecordedAllocations(
    IServiceSource source,
    ISender sender,
    ReconcileQueue changes,
    IOptions<ReconcilerOptions> options,
    TimeProvider time,
    ILogger<RecordedAllocations> logger)
    : IDisposable
{
    /// <summary>Held by a reading between terms, and by a term from its start to its end.</summary>
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The change count the allocator holds the records of; -1: none, or not all (a conflict, a failure).</summary>
    private long _readAt = -1;

    /// <summary>The change count last read, whatever came of it: the same records are not read twice.</summary>
    private long _triedAt = -1;

    private Reading? _last;

    /// <summary>Reads the records again shortly after each change while no term runs, until <paramref name="stopping"/>.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // The signal is taken before the count: a change after this line completes it.
                var next = changes.NextChange;
                if (Volatile.Read(ref _triedAt) != changes.Changes)
                {
                    // A burst of changes (a leader writing thousands of statuses) is read once, after it settles.
                    await Task.Delay(options.Value.StandbyRereadDelay, time, stopping).ConfigureAwait(false);
                    await RereadAsync(stopping).ConfigureAwait(false);
                    continue;
                }

                await next.WaitAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// A term begins: the readings stop, and the allocator holds every recorded IP when this returns, read now unless a
    /// reading since the last change has them all. Pair with <see cref="LeaveTerm"/>.
    /// </summary>
    public async Task EnterTermAsync(CancellationToken term)
    {
        await _gate.WaitAsync(term).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _readAt) == changes.Changes && _last is { } warm)
            {
                ReconcileLog.RestoredWhileStandingBy(logger, warm.Restored, warm.Skipped);
                return;
            }

            // Read in full, with every conflict and unreadable record told (a standby's readings tell them at Debug).
            var response = await sender.Send(new RestoreAllocations(source.Recorded()) { ReplaceExisting = true }, term).ConfigureAwait(false);
            ReconcileLog.Restored(logger, response.Report?.Restored.Count ?? 0, response.Report?.Conflicts.Count ?? 0, response.Skipped.Count);
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    /// <summary>The term has stood down: the allocator holds nothing now, and the readings start again.</summary>
    public void LeaveTerm()
    {
        Volatile.Write(ref _readAt, -1);
        Volatile.Write(ref _triedAt, -1);
        _last = null;
        _gate.Release();
    }

    public void Dispose() => _gate.Dispose();

    private async Task RereadAsync(CancellationToken stopping)
    {
        await _gate.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            var at = changes.Changes;
            Volatile.Write(ref _triedAt, at);
            var started = time.GetTimestamp();
            var response = await sender.Send(new RestoreAllocations(source.Recorded()) { ReplaceExisting = true, Quiet = true }, stopping)
                .ConfigureAwait(false);
            var conflicts = response.Report?.Conflicts.Count ?? 0;
            _last = new Reading(response.Report?.Restored.Count ?? 0, response.Skipped.Count);
            var elapsed = (long)time.GetElapsedTime(started).TotalMilliseconds;
            ReconcileLog.ReadWhileStandingBy(logger, _last.Restored, conflicts, _last.Skipped, elapsed);

            // A conflict is settled by the order of a full reading, which the term makes and tells.
            Volatile.Write(ref _readAt, conflicts == 0 ? at : -1);
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // The term reads the records itself when it starts; a standby that cannot read them now loses only time.
            Volatile.Write(ref _readAt, -1);
            ReconcileLog.StandbyReadFailed(logger, failure.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    private sealed record Reading(int Restored, int Skipped);
}
