using LoadBalancer.Infrastructure.Kubernetes.Watching;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>The waits themselves, without jitter (the random part is always 1, so each wait is its ceiling).</summary>
public sealed class RetryBackoffTests
{
    private static readonly InformerOptions Options = new()
    {
        InitialBackoff = TimeSpan.FromMilliseconds(200),
        MaxBackoff = TimeSpan.FromSeconds(30),
        UnreachableRetryCap = TimeSpan.FromSeconds(1),
    };

    private readonly FakeTimeProvider _time = new();
    private readonly List<(int Attempts, TimeSpan Duration)> _answeredAgain = [];

    [Fact]
    public void NoAnswer_DoublesOnlyToUnreachableRetryCap_HoweverManyInARow()
    {
        var backoff = Backoff();

        var waits = Enumerable.Range(0, 1000).Select(_ => backoff.NoAnswer()).ToList();

        Assert.Equal([200, 400, 800, 1000, 1000], waits.Take(5).Select(w => w.TotalMilliseconds));
        Assert.All(waits, wait => Assert.True(wait <= TimeSpan.FromSeconds(1), $"waited {wait}"));
        Assert.Equal(1000, backoff.Unanswered);
    }

    [Fact]
    public void ErrorAnswers_DoubleToMaxBackoff_AndAGoodAnswerResetsThem()
    {
        var backoff = Backoff();

        var waits = Enumerable.Range(0, 10).Select(_ => backoff.ErrorAnswer().TotalMilliseconds).ToList();
        backoff.GoodAnswer();

        Assert.Equal([200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000], waits);
        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.ErrorAnswer());
    }

    [Fact]
    public void AnAnswer_EndsTheRunOfUnansweredAttempts_AndSaysHowManyAndHowLong()
    {
        var backoff = Backoff();
        backoff.NoAnswer();
        _time.Advance(TimeSpan.FromMinutes(4));
        backoff.NoAnswer();
        _time.Advance(TimeSpan.FromMinutes(6));
        backoff.NoAnswer();

        backoff.ErrorAnswer();
        backoff.GoodAnswer();

        Assert.Equal([(3, TimeSpan.FromMinutes(10))], _answeredAgain);
        Assert.Equal(0, backoff.Unanswered);
        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.NoAnswer());
    }

    [Fact]
    public void NoAnswers_DoNotForgiveErrorAnswers()
    {
        var backoff = Backoff();
        backoff.ErrorAnswer();
        backoff.ErrorAnswer();
        backoff.ErrorAnswer();

        backoff.NoAnswer();

        Assert.Equal(TimeSpan.FromMilliseconds(1600), backoff.ErrorAnswer());
    }

    [Fact]
    public void ExpiriesRightAfterAList_AreNotForgivenByTheListsThatFollow_OnlyByAWorkingWatch()
    {
        var backoff = Backoff();
        var waits = new List<double>();
        for (var expiry = 0; expiry < 4; expiry++)
        {
            waits.Add(backoff.ExpiredRightAfterList().TotalMilliseconds);
            backoff.GoodAnswer();
        }

        backoff.WatchWorks();

        Assert.Equal([200, 400, 800, 1600], waits);
        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.ExpiredRightAfterList());
    }

    [Fact]
    public void UnreachableRetryCap_LongerThanMaxBackoff_MaxBackoffCaps()
    {
        var backoff = Backoff(Options with { MaxBackoff = TimeSpan.FromMilliseconds(500) });

        var waits = Enumerable.Range(0, 10).Select(_ => backoff.NoAnswer()).ToList();

        Assert.Equal(TimeSpan.FromMilliseconds(500), backoff.UnreachableCap);
        Assert.Equal(TimeSpan.FromMilliseconds(500), waits.Max());
    }

    [Theory]
    [InlineData(1, 0.0, 100)]
    [InlineData(1, 1.0, 200)]
    [InlineData(2, 1.0, 400)]
    [InlineData(3, 0.0, 400)]
    [InlineData(9, 1.0, 30_000)]
    [InlineData(9, 0.0, 15_000)]
    [InlineData(10_000, 1.0, 30_000)]
    public void Delay_DoublesPerFailure_IsCapped_AndJitteredIntoItsUpperHalf(int failures, double random, int expectedMs)
    {
        var delay = RetryBackoff.Delay(failures, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), random);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), delay);
    }

    private RetryBackoff Backoff(InformerOptions? options = null) =>
        new(options ?? Options, _time, (attempts, duration) => _answeredAgain.Add((attempts, duration)), () => 1.0);
}
