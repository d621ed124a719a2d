using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// Finds the lowest free address of a pool in O(log n) without listing the pool: a cursor walks the pool upwards
/// through addresses never handed out, returned addresses below the cursor wait in an ordered set, and addresses taken
/// out of order above the cursor (explicit requests) are skipped when the cursor reaches them.
/// </summary>
internal sealed class FreeAddressTracker
{
    private readonly IpNumberRange[] _ranges;
    private readonly SortedSet<IpNumber> _returnedBelowCursor = [];
    private readonly HashSet<IpNumber> _takenAboveCursor = [];
    private int _rangeIndex;
    private IpNumber _cursor;

    public FreeAddressTracker(IpPool pool)
    {
        _ranges = pool.AllocatableRanges.ToArray();
        _cursor = _ranges[0].First;
    }

    private bool CursorExhausted => _rangeIndex >= _ranges.Length;

    public bool TryTakeLowest(out IpNumber address)
    {
        if (_returnedBelowCursor.Count > 0)
        {
            address = _returnedBelowCursor.Min;
            _returnedBelowCursor.Remove(address);
            return true;
        }

        while (!CursorExhausted && _takenAboveCursor.Remove(_cursor))
        {
            AdvanceCursor();
        }

        if (CursorExhausted)
        {
            address = default;
            return false;
        }

        address = _cursor;
        AdvanceCursor();
        return true;
    }

    /// <summary>Takes one given address of the pool; false when it is already taken.</summary>
    public bool TryTake(IpNumber address) =>
        IsBelowCursor(address) ? _returnedBelowCursor.Remove(address) : _takenAboveCursor.Add(address);

    public void Return(IpNumber address)
    {
        var returned = IsBelowCursor(address) ? _returnedBelowCursor.Add(address) : _takenAboveCursor.Remove(address);
        if (!returned)
        {
            throw new InvalidOperationException($"address {address} was returned but was not taken");
        }
    }

    private bool IsBelowCursor(IpNumber address) => CursorExhausted || address < _cursor;

    private void AdvanceCursor()
    {
        if (_cursor == _ranges[_rangeIndex].Last)
        {
            _rangeIndex++;
            if (!CursorExhausted)
            {
                _cursor = _ranges[_rangeIndex].First;
            }

            return;
        }

        _cursor = _cursor.Next();
    }
}
