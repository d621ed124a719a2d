namespace LoadBalancer.Infrastructure.Kubernetes.Status;

/// <summary>
/// Orders the writes of one key: they go one at a time, and a write overtaken by a later one while it waited for its
/// turn is skipped, since what it would write is already stale. Writes of different keys never wait for each other.
/// </summary>
/// <remarks>
/// The reconcile queue hands a Service to one worker at a time, but a term that ends (a lost Lease) can leave a write
/// in flight while the next term writes the same Service: without this, the older value could land last.
/// </remarks>
internal sealed class LatestWriteWins<TKey>
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Slot> _slots = [];

    /// <returns>The turn to write, to dispose when done; null when a later write of the key has come meanwhile.</returns>
    public async ValueTask<IDisposable?> EnterAsync(TKey key, CancellationToken cancellationToken)
    {
        Slot slot;
        long ticket;
        lock (_lock)
        {
            if (!_slots.TryGetValue(key, out slot!))
            {
                slot = new Slot();
                _slots[key] = slot;
            }

            slot.Users++;
            ticket = ++slot.Latest;
        }

        var turn = new Turn(this, key, slot);
        try
        {
            await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Leave(key, slot);
            throw;
        }

        bool overtaken;
        lock (_lock)
        {
            overtaken = slot.Latest != ticket;
        }

        if (overtaken)
        {
            turn.Dispose();
            return null;
        }

        return turn;
    }

    private void Leave(TKey key, Slot slot)
    {
        lock (_lock)
        {
            if (--slot.Users == 0)
            {
                _slots.Remove(key);
            }
        }
    }

    private sealed class Slot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The ticket of the latest write to come.</summary>
        public long Latest { get; set; }

        /// <summary>Writes waiting or writing: the slot is forgotten when none is left.</summary>
        public int Users { get; set; }
    }

    private sealed class Turn(LatestWriteWins<TKey> owner, TKey key, Slot slot) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                slot.Gate.Release();
                owner.Leave(key, slot);
            }
        }
    }
}
