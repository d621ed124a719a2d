namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>
/// One log line per window for an event that can repeat per connection (a refused client, a failed connect): the first
/// event is logged at once by the caller, the events of the next <see cref="Window"/> are only counted, and when the
/// window ends the count goes to the report callback and a new window starts. A window that ends with nothing counted
/// closes, so the next event is again logged at once. Windows run on the injected <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// An event inside a window costs two volatile reads and one interlocked increment: no lock and no allocation. Opening
/// and ending a window (at most once per window) takes a lock and re-arms one timer, made (and its timer thread started)
/// when the limiter is: the event it counts may be the process running out of file descriptors, when starting the
/// runtime's timer thread fails. Events come from every event loop and
/// accept loop at once; a count that lands while a window is closing opens the next one, so none goes unreported.
/// </remarks>
internal sealed class LogRateLimiter
{
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _time;
    private readonly Action<long, TimeSpan> _report;
    private readonly Lock _gate = new();
    private int _open;
    private long _counted;

    private readonly ITimer _timer;

    // Under _gate.
    private long _lastLine;
    private bool _running;
    private int _windows;

    /// <param name="report">Called, outside any lock, with the events counted since the last line and how long ago that line was.</param>
    public LogRateLimiter(TimeProvider time, Action<long, TimeSpan> report, TimeSpan? window = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(report);
        _time = time;
        _report = report;
        Window = window ?? DefaultWindow;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Window, TimeSpan.Zero, nameof(window));

        // Armed once and stopped at once: whatever the runtime needs to fire timers exists from here on.
        _timer = time.CreateTimer(
            static state =>
            {
                var limiter = (LogRateLimiter)state!;
                limiter.End(closing: false, Volatile.Read(ref limiter._windows));
            },
            this,
            Window,
            Window);
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Window { get; }

    /// <summary>Events counted and not reported yet.</summary>
    public long Pending => Interlocked.Read(ref _counted);

    /// <summary>True: no window is running, so log this event now (a window starts). False: it was counted.</summary>
    public bool TryEnter()
    {
        if (TryOpen())
        {
            return true;
        }

        Interlocked.Increment(ref _counted);

        // The window may have closed between the check above and the count; then this count opens the next one, whose
        // end reports it. (The closer rechecks the count after closing, so one of the two always sees the other.)
        _ = TryOpen();
        return false;
    }

    /// <summary>Reports what was counted at once and closes the window (a listener stopping); the next event logs at once again.</summary>
    public void Flush() => End(closing: true, window: 0);

    private bool TryOpen()
    {
        if (Volatile.Read(ref _open) != 0 || Interlocked.CompareExchange(ref _open, 1, 0) != 0)
        {
            return false;
        }

        lock (_gate)
        {
            _lastLine = _time.GetTimestamp();

            ++_windows;
            _running = true;
            _timer.Change(Window, Window);
        }

        return true;
    }

    private void End(bool closing, int window)
    {
        long counted;
        TimeSpan since;
        var reopen = false;
        lock (_gate)
        {
            if (!_running || (!closing && window != _windows))
            {
                return;
            }

            counted = Interlocked.Exchange(ref _counted, 0);
            var now = _time.GetTimestamp();
            since = _time.GetElapsedTime(_lastLine, now);
            _lastLine = now;
            if (closing || counted == 0)
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _running = false;

                // A full fence before the count is read again: an event that counted after the exchange either sees the
                // window closed and opens the next, or is seen here.
                Interlocked.Exchange(ref _open, 0);
                reopen = Interlocked.Read(ref _counted) > 0;
            }
        }

        if (counted > 0)
        {
            _report(counted, since);
        }

        if (reopen)
        {
            _ = TryOpen();
        }
    }
}
