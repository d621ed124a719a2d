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

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var armed = new Armed(dueTime, period);
        Arm(armed, dueTime, period);
        var timer = base.CreateTimer(
            innerState =>
            {
                if (armed.Period == Timeout.InfiniteTimeSpan)
                {
                    Disarm(armed);
                }

                callback(innerState);
            },
            state,
            dueTime,
            period);
        return new Watched(timer, this, armed);
    }

    /// <summary>Waits (bounded) until a one-shot timer of <paramref name="dueTime"/> is armed: whoever made it is waiting on it.</summary>
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

    private void Arm(Armed armed, TimeSpan dueTime, TimeSpan period)
    {
        lock (_armed)
        {
            _armed.Remove(armed);
            armed.Due = dueTime;
            armed.Period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                _armed.Add(armed);
            }
        }
    }

    private void Disarm(Armed armed)
    {
        lock (_armed)
        {
            _armed.Remove(armed);
        }
    }

    private sealed class Armed(TimeSpan due, TimeSpan period)
    {
        public TimeSpan Due { get; set; } = due;

        public TimeSpan Period { get; set; } = period;
    }

    private sealed class Watched(ITimer inner, ObservableTimeProvider owner, Armed armed) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(armed, dueTime, period);
            return inner.Change(dueTime, period);
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
