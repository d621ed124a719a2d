namespace LoadBalancer.Infrastructure.Forwarding.Loops;

/// <summary>
/// What a loop's events and completions point at (listeners and connections), by slot number: the number rides in the
/// epoll token or the io_uring user_data, so a lookup is an array index.
/// </summary>
internal sealed class LoopSlots
{
    private readonly Stack<int> _free = new();
    private readonly List<int> _freeAfterBatch = [];
    private object?[] _slots = new object?[256];

    /// <summary>One past the highest slot ever taken: scans go up to here.</summary>
    public int HighWater { get; private set; }

    public object? this[int slot]
    {
        get => _slots[slot];
        set => _slots[slot] = value;
    }

    public int Take(object target)
    {
        int slot;
        if (_free.Count > 0)
        {
            slot = _free.Pop();
        }
        else
        {
            if (HighWater == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
            }

            slot = HighWater++;
        }

        _slots[slot] = target;
        return slot;
    }

    /// <summary>The slot's owner is gone; the slot is reused after <see cref="FreeClosed"/>.</summary>
    public void Release(int slot) => _freeAfterBatch.Add(slot);

    /// <summary>Slots are reused only after the batch, so an event later in the same batch never finds a stranger.</summary>
    public void FreeClosed()
    {
        foreach (var slot in _freeAfterBatch)
        {
            _slots[slot] = null;
            _free.Push(slot);
        }

        _freeAfterBatch.Clear();
    }
}
