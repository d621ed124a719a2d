namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>
/// A shared turn counter: successive calls, from any thread, walk 0, 1, ..., count - 1 and around again. A mutable
/// struct on purpose, kept in a field of its policy so the increment lands on that field.
/// </summary>
internal struct RotatingIndex
{
    private int _turn;

    public int Next(int count)
    {
        // Unsigned so that the wrap past int.MaxValue keeps counting up instead of going negative.
        var turn = (uint)Interlocked.Increment(ref _turn) - 1;
        return (int)(turn % (uint)count);
    }
}
