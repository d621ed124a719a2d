using LoadBalancer.Infrastructure.Kubernetes.Pacing;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Pacing;

public sealed class ApiTokenBucketTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<ApiTokenBucket> _buckets = [];

    [Fact]
    public void Acquire_TheBurstGoesAtOnce_TheNextWaits()
    {
        var bucket = Bucket(qps: 10, burst: 3);

        var first = Enumerable.Range(0, 3).Select(_ => bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None)).ToList();
        var fourth = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        Assert.All(first, acquired => Assert.True(acquired.IsCompletedSuccessfully));
        Assert.False(fourth.IsCompleted);
        Assert.Equal(1, bucket.Waiting);
    }

    [Fact]
    public void Acquire_AfterTheBurst_GoesAtQpsPace()
    {
        var bucket = Bucket(qps: 10, burst: 1);
        Assert.True(bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None).IsCompletedSuccessfully);
        var second = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        var third = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        _time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(second.IsCompletedSuccessfully);
        Assert.False(third.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(third.IsCompletedSuccessfully);
    }

    [Fact]
    public void Acquire_AfterAQuietSpell_SavesUpToTheBurstOnly()
    {
        var bucket = Bucket(qps: 10, burst: 5);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None).IsCompletedSuccessfully);
        }

        // An hour of quiet is worth 36,000 tokens; the bucket holds five.
        _time.Advance(TimeSpan.FromHours(1));
        var acquired = Enumerable.Range(0, 6).Select(_ => bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None)).ToList();

        Assert.Equal(5, acquired.Count(one => one.IsCompletedSuccessfully));
    }

    [Fact]
    public void Acquire_Waiters_AreServedInOrder()
    {
        var bucket = Bucket(qps: 10, burst: 1);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        var waiters = Enumerable.Range(0, 3).Select(_ => bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None)).ToList();

        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal([true, false, false], waiters.Select(waiter => waiter.IsCompletedSuccessfully));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal([true, true, false], waiters.Select(waiter => waiter.IsCompletedSuccessfully));
    }

    [Fact]
    public void Acquire_ANormalWaiter_GoesBeforeABackgroundOneThatCameEarlier()
    {
        var bucket = Bucket(qps: 10, burst: 1);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        var eventWrite = bucket.AcquireAsync(RequestPriority.Background, CancellationToken.None);
        var statusWrite = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.True(statusWrite.IsCompletedSuccessfully);
        Assert.False(eventWrite.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(eventWrite.IsCompletedSuccessfully);
    }

    [Fact]
    public void Acquire_Background_DoesNotOvertakeAWaitingNormalRequest_EvenWithATokenSavedUp()
    {
        var bucket = Bucket(qps: 10, burst: 2);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        var statusWrite = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        // A background request arriving while a normal one waits queues behind it, even for a token of its own.
        var eventWrite = bucket.AcquireAsync(RequestPriority.Background, CancellationToken.None);

        Assert.False(eventWrite.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(statusWrite.IsCompletedSuccessfully);
        Assert.False(eventWrite.IsCompleted);
    }

    [Fact]
    public void Acquire_Normal_GoesAtOnceWhileOnlyBackgroundRequestsWait()
    {
        var bucket = Bucket(qps: 10, burst: 1);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        var eventWrite = bucket.AcquireAsync(RequestPriority.Background, CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(eventWrite.IsCompletedSuccessfully);
        var queued = bucket.AcquireAsync(RequestPriority.Background, CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(queued.IsCompletedSuccessfully);

        _time.Advance(TimeSpan.FromMilliseconds(100));
        var statusWrite = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        Assert.True(statusWrite.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Acquire_Cancelled_IsCancelledAndTakesNoToken()
    {
        var bucket = Bucket(qps: 10, burst: 1);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = bucket.AcquireAsync(RequestPriority.Normal, cancel.Token);
        var next = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        _time.Advance(TimeSpan.FromMilliseconds(100));

        // The token of the 100 ms goes to the next waiter, not to the one that gave up.
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal(0, bucket.Waiting);
    }

    [Fact]
    public async Task Acquire_AlreadyCancelled_Throws()
    {
        var bucket = Bucket(qps: 10, burst: 1);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bucket.AcquireAsync(RequestPriority.Normal, cancel.Token));
        Assert.True(bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public void Acquire_FractionalQps_WaitsSeconds()
    {
        var bucket = Bucket(qps: 0.5, burst: 1);
        _ = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);
        var next = bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None);

        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(next.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(next.IsCompletedSuccessfully);
    }

    [Fact]
    public void Acquire_ManyWaiters_OverASecond_GetQpsTokens()
    {
        var bucket = Bucket(qps: 500, burst: 100);
        var acquired = Enumerable.Range(0, 1000).Select(_ => bucket.AcquireAsync(RequestPriority.Normal, CancellationToken.None)).ToList();

        for (var i = 0; i < 1000; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        // 100 from the burst, then 500 a second.
        Assert.Equal(600, acquired.Count(one => one.IsCompletedSuccessfully));
    }

    [Theory]
    [InlineData(0, 1, "Qps: '0' must be a number above 0")]
    [InlineData(-1, 1, "Qps: '-1' must be a number above 0")]
    [InlineData(double.NaN, 1, "Qps: 'NaN' must be a number above 0")]
    [InlineData(5, 0, "Burst: '0' must be at least 1")]
    public void Validate_NamesTheOptionAndTheValue(double qps, int burst, string problem)
    {
        Assert.Equal([problem], new KubernetesApiPacingOptions { Qps = qps, Burst = burst }.Validate());
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets)
        {
            bucket.Dispose();
        }
    }

    private ApiTokenBucket Bucket(double qps, int burst)
    {
        var bucket = new ApiTokenBucket(new KubernetesApiPacingOptions { Qps = qps, Burst = burst }, _time);
        _buckets.Add(bucket);
        return bucket;
    }
}
