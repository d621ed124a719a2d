using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>A fake clock that also records the due time of every timer created on it, so tests can see each backoff.</summary>
internal sealed class TimerRecordingTimeProvider : FakeTimeProvider
{
    public ConcurrentQueue<TimeSpan> Timers { get; } = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Timers.Enqueue(dueTime);
        return base.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>Waits up to 5 s for a timer other than <paramref name="ignored"/> to be created after the first <paramref name="skip"/> timers, and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync(int skip, TimeSpan ignored)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            var found = Timers.Skip(skip).Where(due => due != ignored).ToList();
            if (found.Count > 0)
            {
                return found[0];
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("No timer was created within 5 s.");
    }
}
