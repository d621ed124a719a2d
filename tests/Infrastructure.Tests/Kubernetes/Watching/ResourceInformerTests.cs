using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

public sealed class ResourceInformerTests
{
    private static readonly TimeSpan Silence = TimeSpan.FromMinutes(10);

    private static readonly InformerOptions Options = new()
    {
        PageSize = 2,
        InitialBackoff = TimeSpan.FromSeconds(1),
        MaxBackoff = TimeSpan.FromSeconds(4),
        SilenceTimeout = Silence,
    };

    private static V1Service Service(string name, string resourceVersion) => ScriptedResourceSource.Service(name, resourceVersion);

    [Fact]
    public async Task Run_ListsEveryPage_ThenWatchesFromTheListsResourceVersion()
    {
        await using var harness = new Harness();
        Assert.False(harness.Informer.HasSynced);
        var synced = harness.Informer.WaitForSyncAsync(CancellationToken.None);
        Assert.False(synced.IsCompleted);

        harness.Source.ReplyToList("9", "page-2", Service("a", "1"), Service("b", "2"));
        harness.Source.ReplyToList("10", null, Service("c", "3"));
        var watch = await harness.Source.NextWatchAsync();

        await synced.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(harness.Informer.HasSynced);
        Assert.Equal([null, "page-2"], harness.Source.ListRequests);
        Assert.Equal("10", watch.ResourceVersion);
        Assert.Equal("10", harness.Informer.ResourceVersion);
        Assert.Equal(["a", "b", "c"], harness.Informer.List().Select(s => s.Metadata.Name).Order());
        Assert.Equal(3, harness.Informer.Count);
        Assert.Equal("2", harness.Informer.Get("default", "b")?.Metadata.ResourceVersion);
        Assert.Null(harness.Informer.Get("other", "b"));
        Assert.Equal(["a", "b", "c"], harness.Changes.Select(c => (c.Type, c.Old, c.New!.Metadata.Name)).Select(c => c.Name).Order());
        Assert.All(harness.Changes, c => Assert.Equal(ChangeType.Added, c.Type));
        Assert.Equal(1, harness.SyncCount);
    }

    [Fact]
    public async Task Run_ContinueTokenExpiresMidList_ListsAgainFromTheStart()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("9", "page-2", Service("gone", "1"), Service("a", "2"));
        harness.Source.FailList(new ResourceExpiredException("continue token expired"));
        harness.Source.ReplyToList("20", null, Service("a", "2"), Service("b", "5"));

        var watch = await harness.Source.NextWatchAsync();

        Assert.Equal([null, "page-2", null], harness.Source.ListRequests);
        Assert.Equal("20", watch.ResourceVersion);
        Assert.Equal(["a", "b"], harness.Informer.List().Select(s => s.Metadata.Name).Order());
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5103);
    }

    [Fact]
    public async Task WatchEvents_UpdateTheCacheAndAreRaisedInOrder_AnUnchangedVersionIsNoChange()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        await harness.Informer.WaitForSyncAsync(CancellationToken.None);
        var cachedA = harness.Informer.Get("default", "a");
        harness.Changes.Clear();

        watch.Send(WatchEventType.Added, Service("b", "11"));
        watch.Send(WatchEventType.Modified, Service("a", "1"));   // same version as cached: no change
        watch.Send(WatchEventType.Modified, Service("a", "12"));
        watch.Send(WatchEventType.Deleted, Service("b", "13"));
        watch.Send(WatchEventType.Deleted, Service("never-seen", "14"));
        await Until(() => harness.Informer.ResourceVersion == "14", "the last event was applied");

        Assert.Equal(
            [(ChangeType.Added, null, "11"), (ChangeType.Modified, "1", "12"), (ChangeType.Deleted, "11", null)],
            harness.Changes.Select(c => (c.Type, c.Old?.Metadata.ResourceVersion, c.New?.Metadata.ResourceVersion)));
        Assert.Same(cachedA, harness.Changes.ElementAt(1).Old);
        Assert.Equal(["a"], harness.Informer.List().Select(s => s.Metadata.Name));
        Assert.Equal("12", harness.Informer.Get("default", "a")?.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Bookmark_AdvancesTheResourceVersion_WithoutTouchingTheCache()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        await harness.Informer.WaitForSyncAsync(CancellationToken.None);
        harness.Changes.Clear();

        watch.Send(WatchEventType.Bookmark, ScriptedResourceSource.Bookmark("42"));
        await Until(() => harness.Informer.ResourceVersion == "42", "the bookmark was applied");
        watch.End();
        var next = await harness.Source.NextWatchAsync();

        Assert.Equal("42", next.ResourceVersion);
        Assert.Empty(harness.Changes);
        Assert.Equal(["a"], harness.Informer.List().Select(s => s.Metadata.Name));
        Assert.Single(harness.Source.ListRequests);
    }

    [Fact]
    public async Task WatchEnds_WatchesAgainFromTheLastResourceVersion_WithoutListing()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();

        watch.Send(WatchEventType.Added, Service("a", "11"));
        watch.End();
        var next = await harness.Source.NextWatchAsync();

        Assert.Equal("11", next.ResourceVersion);
        Assert.Single(harness.Source.ListRequests);
        Assert.Equal(1, harness.SyncCount);
        Assert.DoesNotContain(harness.Time.Timers, due => due != Silence);
    }

    [Fact]
    public async Task WatchEndsAtOnceWithoutAnEvent_WatchesAgainAfterABackoff()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();
        var timers = harness.Time.Timers.Count;

        watch.End();
        var backoff = await harness.Time.NextTimerAsync(timers, Silence);
        var next = await harness.Source.NextWatchAsync(harness.Time, TimeSpan.FromMilliseconds(100));

        Assert.InRange(backoff, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        Assert.Equal("10", next.ResourceVersion);
        Assert.Single(harness.Source.ListRequests);
    }

    [Fact]
    public async Task Expired_ListsAgain_AndRaisesTheDifferencesIncludingDeletions()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Service("same", "1"), Service("changed", "2"), Service("deleted", "3"));
        var watch = await harness.Source.NextWatchAsync();
        await harness.Informer.WaitForSyncAsync(CancellationToken.None);
        var same = harness.Informer.Get("default", "same");
        harness.Changes.Clear();

        watch.Send(WatchEventType.Bookmark, ScriptedResourceSource.Bookmark("11"));
        watch.Fail(new ResourceExpiredException("too old"));
        harness.Source.ReplyToList("30", null, Service("same", "1"), Service("changed", "25"), Service("new", "26"));
        var next = await harness.Source.NextWatchAsync();

        Assert.Equal("30", next.ResourceVersion);
        Assert.Equal(2, harness.Source.ListRequests.Count);
        Assert.Equal(2, harness.SyncCount);
        Assert.Equal(
            [(ChangeType.Added, null, "26"), (ChangeType.Modified, "2", "25"), (ChangeType.Deleted, "3", null)],
            harness.Changes.Select(c => (c.Type, c.Old?.Metadata.ResourceVersion, c.New?.Metadata.ResourceVersion)).Order());
        Assert.Same(same, harness.Informer.Get("default", "same"));
        Assert.Equal(["changed", "new", "same"], harness.Informer.List().Select(s => s.Metadata.Name).Order());
        Assert.DoesNotContain(harness.Time.Timers, due => due != Silence);
    }

    [Fact]
    public async Task ExpiredBeforeAnyEvent_ListsAgainAfterABackoff()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        var timers = harness.Time.Timers.Count;

        watch.Fail(new ResourceExpiredException("too old"));
        var backoff = await harness.Time.NextTimerAsync(timers, Silence);
        harness.Source.ReplyToList("20", null);
        await harness.Source.WaitForListRequestsAsync(2, harness.Time, TimeSpan.FromMilliseconds(100));

        Assert.InRange(backoff, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        var next = await harness.Source.NextWatchAsync();
        Assert.Equal("20", next.ResourceVersion);
        Assert.Empty(harness.Informer.List());
    }

    [Fact]
    public async Task WatchFailures_BackOffDoublingUpToTheCap_AndAWorkingWatchResetsIt()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();
        var backoffs = new List<TimeSpan>();

        for (var failure = 0; failure < 4; failure++)
        {
            var timers = harness.Time.Timers.Count;
            watch.Fail(new HttpRequestException("connection refused"));
            backoffs.Add(await harness.Time.NextTimerAsync(timers, Silence));
            watch = await harness.Source.NextWatchAsync(harness.Time, TimeSpan.FromMilliseconds(100));
            Assert.Equal("10", watch.ResourceVersion);
        }

        watch.Send(WatchEventType.Added, Service("a", "11"));
        var afterSuccess = harness.Time.Timers.Count;
        watch.Fail(new IOException("connection reset"));
        var reset = await harness.Time.NextTimerAsync(afterSuccess, Silence);

        Assert.InRange(backoffs[0], TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.InRange(backoffs[1], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.InRange(backoffs[2], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Assert.InRange(backoffs[3], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Assert.InRange(reset, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.Single(harness.Source.ListRequests);
        Assert.Equal(5, harness.Logger.Entries.Count(e => e.EventId.Id == 5110 && e.Level == LogLevel.Warning));
    }

    [Fact]
    public async Task ListFailure_IsRetriedAfterABackoff()
    {
        await using var harness = new Harness();
        var timers = harness.Time.Timers.Count;
        harness.Source.FailList(new HttpRequestException("API server unavailable"));

        var backoff = await harness.Time.NextTimerAsync(timers, Silence);
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        await harness.Source.WaitForListRequestsAsync(2, harness.Time, TimeSpan.FromMilliseconds(100));
        await harness.Informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.InRange(backoff, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5104);
        Assert.Equal(["a"], harness.Informer.List().Select(s => s.Metadata.Name));
    }

    [Fact]
    public async Task SilentWatch_IsRestartedFromTheLastResourceVersion()
    {
        await using var harness = new Harness(Options with { SilenceTimeout = TimeSpan.FromSeconds(30) });
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();

        harness.Time.Advance(TimeSpan.FromSeconds(29));
        watch.Send(WatchEventType.Bookmark, ScriptedResourceSource.Bookmark("12"));
        await Until(() => harness.Informer.ResourceVersion == "12", "the bookmark was applied");
        harness.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(watch.Cancelled.Task.IsCompleted, "the bookmark restarts the silence timer");
        harness.Time.Advance(TimeSpan.FromSeconds(2));
        await watch.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var next = await harness.Source.NextWatchAsync();

        Assert.Equal("12", next.ResourceVersion);
        Assert.Single(harness.Source.ListRequests);
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5109);
    }

    [Fact]
    public async Task ThrowingHandler_IsLogged_AndNeitherOtherHandlersNorTheInformerStop()
    {
        await using var harness = new Harness();
        var seen = new ConcurrentQueue<string>();
        harness.Informer.Changed += _ => throw new InvalidOperationException("handler bug");
        harness.Informer.Changed += change => seen.Enqueue(change.Latest.Metadata.Name);
        harness.Informer.Synced += () => throw new InvalidOperationException("sync handler bug");
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();

        watch.Send(WatchEventType.Added, Service("b", "11"));
        watch.Send(WatchEventType.Added, Service("c", "12"));
        await Until(() => harness.Informer.ResourceVersion == "12", "the events were applied");

        Assert.Equal(["a", "b", "c"], seen);
        Assert.Equal(3, harness.Logger.Entries.Count(e => e.EventId.Id == 5112 && e.Level == LogLevel.Error));
        Assert.Single(harness.Logger.Entries, e => e.EventId.Id == 5113);
        Assert.Equal(3, harness.Informer.Count);
        Assert.Equal(1, harness.SyncCount);
    }

    [Fact]
    public async Task Cancellation_WhileWatching_EndsRunWithoutThrowing()
    {
        var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();

        await harness.DisposeAsync();

        Assert.True(harness.Running.IsCompletedSuccessfully);
        Assert.True(watch.Cancelled.Task.IsCompleted);
    }

    [Fact]
    public async Task Cancellation_DuringABackoff_EndsRunWithoutThrowing()
    {
        var harness = new Harness();
        var timers = harness.Time.Timers.Count;
        harness.Source.FailList(new HttpRequestException("unavailable"));
        await harness.Time.NextTimerAsync(timers, Silence);

        await harness.DisposeAsync();

        Assert.True(harness.Running.IsCompletedSuccessfully);
        Assert.Single(harness.Source.ListRequests);
    }

    [Fact]
    public async Task Cancellation_BeforeTheFirstSync_FailsWaitForSync()
    {
        var harness = new Harness();
        using var waiting = new CancellationTokenSource();
        var synced = harness.Informer.WaitForSyncAsync(waiting.Token);

        await waiting.CancelAsync();
        await harness.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => synced);
        Assert.False(harness.Informer.HasSynced);
    }

    [Fact]
    public async Task RunAsync_AlreadyRunning_Throws()
    {
        await using var harness = new Harness();

        await Assert.ThrowsAsync<InvalidOperationException>(() => harness.Informer.RunAsync(CancellationToken.None));
    }

    [Fact]
    public async Task List_IsASnapshot_ThatLaterChangesDoNotAlter()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        await harness.Informer.WaitForSyncAsync(CancellationToken.None);
        var before = harness.Informer.List();

        watch.Send(WatchEventType.Added, Service("b", "11"));
        await Until(() => harness.Informer.Count == 2, "b was added");

        Assert.Single(before);
        Assert.Equal(2, harness.Informer.List().Count);
    }

    [Theory]
    [InlineData(1, 0.0, 100)]
    [InlineData(1, 1.0, 200)]
    [InlineData(2, 1.0, 400)]
    [InlineData(3, 0.0, 400)]
    [InlineData(9, 1.0, 30_000)]
    [InlineData(9, 0.0, 15_000)]
    [InlineData(10_000, 1.0, 30_000)]
    public void Backoff_DoublesPerFailure_IsCapped_AndJitteredIntoItsUpperHalf(int failures, double random, int expectedMs)
    {
        var backoff = ResourceInformer<V1Service>.Backoff(failures, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), random);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), backoff);
    }

    [Fact]
    public void Constructor_InvalidOptions_ReportsEveryProblem()
    {
        var options = new InformerOptions { PageSize = 0, MaxBackoff = TimeSpan.FromMilliseconds(1) };

        var error = Assert.Throws<ArgumentException>(() => new ResourceInformer<V1Service>(
            new ScriptedResourceSource(TimeProvider.System), options, TimeProvider.System, new CapturingLogger<ResourceInformerTests>()));

        Assert.Contains("PageSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxBackoff", error.Message, StringComparison.Ordinal);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(5);
        }
    }

    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private int _syncCount;

        public Harness(InformerOptions? options = null)
        {
            Source = new ScriptedResourceSource(Time);
            Informer = new ResourceInformer<V1Service>(Source, options ?? Options, Time, Logger);
            Informer.Changed += Changes.Enqueue;
            Informer.Synced += () => Interlocked.Increment(ref _syncCount);
            Running = Informer.RunAsync(_stop.Token);
        }

        public TimerRecordingTimeProvider Time { get; } = new();

        public ScriptedResourceSource Source { get; }

        public CapturingLogger<ResourceInformerTests> Logger { get; } = new();

        public ResourceInformer<V1Service> Informer { get; }

        public ConcurrentQueue<ResourceChange<V1Service>> Changes { get; } = new();

        public int SyncCount => Volatile.Read(ref _syncCount);

        public Task Running { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await Running.WaitAsync(TimeSpan.FromSeconds(5));
            }
            finally
            {
                _stop.Dispose();
            }
        }
    }
}
