namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>
/// The millisecond clock of the engines' timers (idle and connect timeouts, paused accepts), read on every event-loop
/// wake-up and every copied chunk. On <see cref="TimeProvider.System"/> it reads <see cref="Environment.TickCount64"/>,
/// as the engines did before they took a TimeProvider: a test of a readonly field that is always null there, no virtual
/// call, no arithmetic. Any other provider (FakeTimeProvider in tests) is read through
/// <see cref="TimeProvider.GetElapsedTime(long)"/>, so the timeouts follow virtual time.
/// </summary>
internal sealed class ForwarderClock
{
    private readonly TimeProvider? _virtual;
    private readonly long _start;

    public ForwarderClock(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (!ReferenceEquals(time, TimeProvider.System))
        {
            _virtual = time;
            _start = time.GetTimestamp();
        }
    }

    /// <summary>Not the system clock: it moves only when told (a test), so loops that wait on the real clock must look at it often.</summary>
    public bool IsVirtual => _virtual is not null;

    /// <summary>Milliseconds from an arbitrary origin; only differences mean anything.</summary>
    public long NowMilliseconds => _virtual is null ? Environment.TickCount64 : VirtualMilliseconds();

    private long VirtualMilliseconds() => (long)_virtual!.GetElapsedTime(_start).TotalMilliseconds;
}
