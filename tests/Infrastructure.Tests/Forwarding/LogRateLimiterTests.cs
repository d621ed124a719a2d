using LoadBalancer.Infrastructure.Forwarding;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

public sealed class LogRateLimiterTests
{
    private static readonly TimeSpan Window = LogRateLimiter.DefaultWindow;

    private readonly FakeTimeProvider _time = new();
    private readonly List<(long Count, TimeSpan Since)> _reports = [];

    [Fact]
    public void FirstEvent_IsLoggedAtOnce_AndTheRestOfTheWindowIsOnlyCounted()
    {
        var limiter = Create();

        Assert.True(limiter.TryEnter());
        for (var i = 0; i < 32; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.False(limiter.TryEnter());
        }

        Assert.Equal(32, limiter.Pending);
        Assert.Empty(_reports);
    }

    [Fact]
    public void WindowEnd_ReportsTheCountSinceTheFirstLine_OnlyOnceTheWindowHasPassed()
    {
        var limiter = Create();
        Assert.True(limiter.TryEnter());
        Enter(limiter, 33);

        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.Empty(_reports);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([(33L, Window)], _reports);
        Assert.Equal(0, limiter.Pending);
    }

    [Fact]
    public void OngoingEvents_GetOneSummaryPerWindow_AndNeverASecondFirstLine()
    {
        var limiter = Create();
        Assert.True(limiter.TryEnter());

        for (var window = 1; window <= 3; window++)
        {
            Enter(limiter, 10 * window);
            _time.Advance(Window);
        }

        Assert.Equal([(10L, Window), (20L, Window), (30L, Window)], _reports);
    }

    [Fact]
    public void QuietWindow_EndsWithoutALine_AndTheNextEventIsLoggedAtOnceAgain()
    {
        var limiter = Create();
        Assert.True(limiter.TryEnter());
        Enter(limiter, 5);
        _time.Advance(Window);
        Assert.Single(_reports);

        // A window with nothing counted closes silently.
        _time.Advance(Window);
        Assert.Single(_reports);

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(limiter.TryEnter());
        Assert.False(limiter.TryEnter());
        _time.Advance(Window);
        Assert.Equal([(5L, Window), (1L, Window)], _reports);
    }

    [Fact]
    public void SingleEvent_LogsOneLineAndNoSummary()
    {
        var limiter = Create();

        Assert.True(limiter.TryEnter());
        _time.Advance(Window * 3);

        Assert.Empty(_reports);
    }

    [Fact]
    public void Flush_ReportsWhatWasCountedSoFar_WithTheTimeSinceTheLine()
    {
        var limiter = Create();
        Assert.True(limiter.TryEnter());
        Enter(limiter, 7);
        _time.Advance(TimeSpan.FromSeconds(12));

        limiter.Flush();

        Assert.Equal([(7L, TimeSpan.FromSeconds(12))], _reports);

        // Its window ended with the flush: the next event is logged at once, and the old timer reports nothing.
        Assert.True(limiter.TryEnter());
        _time.Advance(Window);
        Assert.Single(_reports);
    }

    [Fact]
    public void TwoLimiters_AreIndependent()
    {
        var first = Create();
        var second = Create();

        Assert.True(first.TryEnter());
        Enter(first, 3);
        Assert.True(second.TryEnter());
        _time.Advance(Window);

        Assert.Equal([(3L, Window)], _reports);
    }

    [Fact]
    public void ManyThreadsAtOnce_ExactlyOneLogsAndEveryOtherEventIsReported()
    {
        const int Threads = 4;
        const int EventsEach = 10_000;
        var limiter = Create();
        var logged = 0;

        // Threads of their own: pool threads blocked on the barrier would starve the tests running beside this one.
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < EventsEach; i++)
            {
                if (limiter.TryEnter())
                {
                    Interlocked.Increment(ref logged);
                }
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        Assert.All(threads, thread => Assert.True(thread.Join(TimeSpan.FromSeconds(10))));
        _time.Advance(Window);

        Assert.Equal(1, logged);
        Assert.Equal((long)Threads * EventsEach - 1, _reports.Sum(report => report.Count));
    }

    [Fact]
    public void EventsRacingWithWindowEnds_AreEachEitherLoggedOrReported()
    {
        const int Threads = 4;
        const int EventsEach = 20_000;
        var limiter = Create();
        var logged = 0;
        var running = Threads;
        var threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < EventsEach; i++)
            {
                if (limiter.TryEnter())
                {
                    Interlocked.Increment(ref logged);
                }
            }

            Interlocked.Decrement(ref running);
        })).ToList();
        threads.ForEach(thread => thread.Start());

        // Windows end (and close, and reopen) while the threads count.
        while (Volatile.Read(ref running) > 0)
        {
            _time.Advance(Window);
        }

        Assert.All(threads, thread => Assert.True(thread.Join(TimeSpan.FromSeconds(10))));
        limiter.Flush();

        Assert.Equal((long)Threads * EventsEach, logged + _reports.Sum(report => report.Count));
    }

    private LogRateLimiter Create() => new(_time, (count, since) =>
    {
        lock (_reports)
        {
            _reports.Add((count, since));
        }
    });

    private static void Enter(LogRateLimiter limiter, int events)
    {
        for (var i = 0; i < events; i++)
        {
            Assert.False(limiter.TryEnter());
        }
    }
}
