namespace LoadBalancer.Infrastructure.Forwarding.Loops;

/// <summary>
/// When a loop scans its connections for timers (idle timeout, connect deadlines, paused accepts, counter flushes): a
/// quarter of the shortest timeout, between 10 ms and 250 ms, which is also how long a loop waits for events at most.
/// </summary>
internal sealed class HousekeepingTick
{
    private const int VirtualClockPoll = 5;

    private readonly long _interval;
    private long _next;

    public HousekeepingTick(ForwarderOptions options, ForwarderClock clock)
    {
        var shortest = Math.Min(options.ConnectTimeout.TotalMilliseconds, options.IdleTimeout.TotalMilliseconds) / 4;
        _interval = (long)Math.Clamp(shortest, 10, 250);

        // The wait times out on the real clock, which a virtual one (FakeTimeProvider in tests) does not follow: it jumps
        // when the test advances it. Then the loop looks at it every few real milliseconds and scans on every wake-up,
        // so a timeout fires at the first wake-up after the clock passed it, whatever the jump.
        IsVirtualClock = clock.IsVirtual;
        WaitMilliseconds = IsVirtualClock ? VirtualClockPoll : (int)_interval;
    }

    public bool IsVirtualClock { get; }

    /// <summary>The longest a loop waits for events.</summary>
    public int WaitMilliseconds { get; }

    public void Start(long now) => _next = now + _interval;

    /// <summary>True when the scan is due at <paramref name="now"/> (always on a virtual clock); the next one is then an interval away.</summary>
    public bool Due(long now)
    {
        if (now < _next && !IsVirtualClock)
        {
            return false;
        }

        _next = now + _interval;
        return true;
    }
}
