using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>A fake clock that also records the due time of every timer created on it, so tests can see each backoff.</summary>
internal sealed class TimerRecordingTimeProvider : FakeTimeProvider
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);
    private readonly List<TimeSpan> _timers = [];

    /// <summary>Completed, and replaced, when a timer is created.</summary>
    private TaskCompletionSource _created = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The due time of every timer created so far, in order.</summary>
    public IReadOnlyList<TimeSpan> Timers
    {
        get
        {
            lock (_timers)
            {
                return [.. _timers];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        // Recorded once created, so a test that has seen the timer can advance the clock past it.
        var timer = base.CreateTimer(callback, state, dueTime, period);
        TaskCompletionSource created;
        lock (_timers)
        {
            _timers.Add(dueTime);
            created = _created;
            _created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        created.TrySetResult();
        return timer;
    }

    /// <summary>Waits up to 5 s for a timer other than <paramref name="ignored"/> to be created after the first <paramref name="skip"/> timers, and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync(int skip, TimeSpan ignored) => (await NextTimerWithCountAsync(skip, ignored)).Due;

    /// <summary>
    /// Like <see cref="NextTimerAsync"/>, and also how many timers had been created up to and including it: the
    /// <c>skip</c> for the one after. It wakes as soon as a timer is created, so a test can walk through hundreds.
    /// </summary>
    public async Task<(TimeSpan Due, int Seen)> NextTimerWithCountAsync(int skip, TimeSpan ignored)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            Task created;
            lock (_timers)
            {
                for (var i = skip; i < _timers.Count; i++)
                {
                    if (_timers[i] != ignored)
                    {
                        return (_timers[i], i + 1);
                    }
                }

                created = _created.Task;
            }

            var left = deadline - DateTime.UtcNow;
            try
            {
                await created.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException("No timer was created within 5 s.");
            }
        }
    }
}
