using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Leadership;

/// <summary>
/// A fake clock that knows which of its timers are armed, so a test can tell when the code under test has reached its
/// next wait and move time exactly to the next due timer (a discrete-event simulation: no real sleeping).
/// </summary>
/// <remarks>
/// Timers are told apart by what they serve: a <see cref="CancellationTokenSource"/> created on this clock (a request's
/// deadline) is not a wait of its own, because the code is then waiting for the request; anything else (a
/// <c>Task.Delay</c>) is.
/// </remarks>
internal sealed class VirtualClock : FakeTimeProvider
{
    private readonly List<TrackedTimer> _timers = [];

    /// <summary>Timers other than deadlines that are due some time: one per piece of code waiting on this clock.</summary>
    public int ArmedWaits
    {
        get
        {
            lock (_timers)
            {
                return _timers.Count(timer => !timer.IsDeadline && timer.DueAt is not null);
            }
        }
    }

    /// <summary>When the next armed timer (wait or deadline) fires; null when none is armed.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_timers)
            {
                return _timers.Where(timer => timer.DueAt is not null).Select(timer => timer.DueAt).Min();
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new TrackedTimer(this, state is CancellationTokenSource);
        lock (_timers)
        {
            _timers.Add(tracked);
        }

        tracked.Arm(dueTime, period);
        tracked.Inner = base.CreateTimer(
            callbackState =>
            {
                tracked.Fired();
                callback(callbackState);
            },
            state,
            dueTime,
            period);
        return tracked;
    }

    private void Forget(TrackedTimer timer)
    {
        lock (_timers)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class TrackedTimer(VirtualClock clock, bool isDeadline) : ITimer
    {
        private readonly Lock _gate = new();
        private DateTimeOffset? _dueAt;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public bool IsDeadline { get; } = isDeadline;

        public ITimer Inner { get; set; } = null!;

        public DateTimeOffset? DueAt
        {
            get
            {
                lock (_gate)
                {
                    return _dueAt;
                }
            }
        }

        public void Arm(TimeSpan dueTime, TimeSpan period)
        {
            lock (_gate)
            {
                _dueAt = dueTime == Timeout.InfiniteTimeSpan ? null : clock.GetUtcNow() + dueTime;
                _period = period;
            }
        }

        public void Fired()
        {
            lock (_gate)
            {
                _dueAt = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : clock.GetUtcNow() + _period;
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Arm(dueTime, period);
            return Inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _dueAt = null;
            }

            clock.Forget(this);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
