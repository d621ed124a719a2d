using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// A fake clock that knows which one-shot timers are armed, so a test advances it only once the forwarder waits on it:
/// advancing before a drain or a connect has started its timer would move the clock under a timer not yet there.
/// </summary>
internal sealed class ObservableTimeProvider : FakeTimeProvider
{
    private readonly List<Armed> _armed = [];
    private int _live;

    /// <summary>Timers made and not disposed yet, armed or not: what a component that stopped must not leave behind.</summary>
    public int LiveTimers => Volatile.Read(ref _live);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var armed = new Armed();
        var arming = BeginArming(armed, dueTime, period);
        var timer = base.CreateTimer(
            innerState =>
            {
                Fired(armed);
                callback(innerState);
            },
            state,
            dueTime,
            period);
        Publish(armed, arming);
        Interlocked.Increment(ref _live);
        return new Watched(timer, this, armed);
    }

    /// <summary>
    /// Waits (bounded) until a one-shot timer of <paramref name="dueTime"/> is armed: whoever made it is waiting on it, and
    /// the clock has it, so advancing by <paramref name="dueTime"/> fires it.
    /// </summary>
    public async Task WaitForTimerAsync(TimeSpan dueTime, string what, TimeSpan? limit = null)
    {
        var wait = limit ?? TimeSpan.FromSeconds(5);
        var watch = Stopwatch.StartNew();
        while (!IsArmed(dueTime))
        {
            if (watch.Elapsed > wait)
            {
                Assert.Fail($"no {dueTime.TotalMilliseconds:F0} ms timer was armed within {wait.TotalMilliseconds:F0} ms: {what}; armed: {Describe()}");
            }

            await Task.Delay(5);
        }
    }

    private bool IsArmed(TimeSpan dueTime)
    {
        lock (_armed)
        {
            return _armed.Exists(armed => armed.Due == dueTime && armed.Period == Timeout.InfiniteTimeSpan);
        }
    }

    private string Describe()
    {
        lock (_armed)
        {
            return _armed.Count == 0 ? "none" : string.Join(", ", _armed.Select(armed => $"{armed.Due.TotalMilliseconds:F0}/{armed.Period.TotalMilliseconds:F0} ms"));
        }
    }

    // A timer is shown as armed only once the fake clock has scheduled it. The clock takes a timer's due time from its
    // own now when it schedules it, so a test that saw the timer before that and advanced the clock by the due time
    // would move the clock under a timer not yet there, which then comes due that much later and never fires.
    private long BeginArming(Armed armed, TimeSpan dueTime, TimeSpan period)
    {
        lock (_armed)
        {
            _armed.Remove(armed);
            armed.Due = dueTime;
            armed.Period = period;
            return ++armed.Generation;
        }
    }

    private void Publish(Armed armed, long arming)
    {
        lock (_armed)
        {
            // Not when it fired, changed again or was disposed while the clock scheduled it: it is no longer armed.
            if (armed.Generation == arming && !armed.Disposed && armed.Due != Timeout.InfiniteTimeSpan)
            {
                _armed.Add(armed);
            }
        }
    }

    private void Fired(Armed armed)
    {
        lock (_armed)
        {
            if (armed.Period == Timeout.InfiniteTimeSpan)
            {
                armed.Generation++;
                _armed.Remove(armed);
            }
        }
    }

    private void Disarm(Armed armed)
    {
        lock (_armed)
        {
            if (!armed.Disposed)
            {
                Interlocked.Decrement(ref _live);
            }

            armed.Generation++;
            armed.Disposed = true;
            _armed.Remove(armed);
        }
    }

    private sealed class Armed
    {
        public TimeSpan Due { get; set; }

        public TimeSpan Period { get; set; }

        /// <summary>Counts schedules and firings, so that a publication that lost the race with either is dropped.</summary>
        public long Generation { get; set; }

        public bool Disposed { get; set; }
    }

    private sealed class Watched(ITimer inner, ObservableTimeProvider owner, Armed armed) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            // The old schedule is gone from here on; the new one is shown once the clock has it.
            var arming = owner.BeginArming(armed, dueTime, period);
            var changed = inner.Change(dueTime, period);
            owner.Publish(armed, arming);
            return changed;
        }

        public void Dispose()
        {
            owner.Disarm(armed);
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            owner.Disarm(armed);
            return inner.DisposeAsync();
        }
    }
}
