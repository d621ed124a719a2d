using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Standalone;

/// <summary>
/// A fake clock that tells when a timer is created. The file watcher creates one each time it starts waiting for the
/// next poll, so a test can let the poll interval pass exactly when the source waits, instead of guessing.
/// </summary>
internal sealed class WatcherClock : FakeTimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<(int After, TaskCompletionSource<int> Created)> _waiters = [];
    private int _timers;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        List<TaskCompletionSource<int>> created = [];
        int count;
        lock (_gate)
        {
            count = ++_timers;
            foreach (var waiter in _waiters.Where(waiter => count > waiter.After).ToList())
            {
                _waiters.Remove(waiter);
                created.Add(waiter.Created);
            }
        }

        foreach (var waiter in created)
        {
            waiter.TrySetResult(count);
        }

        return timer;
    }

    /// <summary>Completes with the number of timers created so far once it is more than <paramref name="after"/>.</summary>
    public Task<int> TimerCreatedAsync(int after)
    {
        lock (_gate)
        {
            if (_timers > after)
            {
                return Task.FromResult(_timers);
            }

            var created = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((after, created));
            return created.Task;
        }
    }
}
