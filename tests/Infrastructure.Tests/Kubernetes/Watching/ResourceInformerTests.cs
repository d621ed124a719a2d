using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Models;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
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

    /// <summary>The defaults (backoff from 200 ms to 30 s, no answer retried at least every second), with a long silence.</summary>
    private static readonly InformerOptions Defaults = new() { SilenceTimeout = Silence };

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
    public async Task ListedAndWatchedObjects_AreCachedWithoutManagedFieldsAndLastApplied_OtherAnnotationsKept()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Heavy(Service("a", "1")));
        var watch = await harness.Source.NextWatchAsync();
        await harness.Informer.WaitForSyncAsync(CancellationToken.None);

        watch.Send(WatchEventType.Added, Heavy(Service("b", "11")));
        await Until(() => harness.Informer.ResourceVersion == "11", "the event was applied");

        foreach (var name in new[] { "a", "b" })
        {
            var cached = harness.Informer.Get("default", name)!;
            Assert.Null(cached.Metadata.ManagedFields);
            Assert.Equal(["littlelb.io/sharing-key"], cached.Metadata.Annotations.Keys);
        }

        Assert.All(harness.Changes, change => Assert.Null(change.New!.Metadata.ManagedFields));
    }

    private static V1Service Heavy(V1Service service)
    {
        service.Metadata.ManagedFields = [new V1ManagedFieldsEntry { Manager = "kubectl-client-side-apply", Operation = "Update" }];
        service.Metadata.Annotations = new Dictionary<string, string>
        {
            [ResourceInformer<V1Service>.LastAppliedAnnotation] = "{\"apiVersion\":\"v1\",\"kind\":\"Service\"}",
            ["littlelb.io/sharing-key"] = "shop",
        };
        return service;
    }

    [Fact]
    public async Task Run_ContinueTokenExpiresMidList_ListsAgainFromTheStart_CountedAsARelist()
    {
        await using var harness = new Harness();
        using var relists = new MetricCollector<long>(harness.Meters, LoadBalancerMeter.Name, "littlelb.kubernetes.relists");
        harness.Source.ReplyToList("9", "page-2", Service("gone", "1"), Service("a", "2"));
        harness.Source.FailList(new ResourceExpiredException("continue token expired"));
        harness.Source.ReplyToList("20", null, Service("a", "2"), Service("b", "5"));

        var watch = await harness.Source.NextWatchAsync();

        Assert.Equal([null, "page-2", null], harness.Source.ListRequests);
        Assert.Equal("20", watch.ResourceVersion);
        Assert.Equal(["a", "b"], harness.Informer.List().Select(s => s.Metadata.Name).Order());
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5103);
        // Even while the first list is made: everything is listed a second time.
        Assert.Equal(["1 reason=continue_expired resource=services"], relists.GetMeasurementSnapshot().Select(m => m.Describe()));
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
    public async Task ExpiredRightAfterEachList_BacksOffLongerEachTime_UntilAWatchWorks()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();
        var seen = harness.Time.Timers.Count;
        var waits = new List<TimeSpan>();

        // A server that keeps saying 410 to the version of the list it has just served: each list succeeds, and the
        // waits still grow, so it is not listed in a loop.
        for (var expiry = 0; expiry < 3; expiry++)
        {
            watch.Fail(new ResourceExpiredException("too old"));
            (var wait, seen) = await harness.Time.NextTimerWithCountAsync(seen, Silence);
            waits.Add(wait);
            harness.Source.ReplyToList($"{20 + expiry}", null);
            harness.Time.Advance(wait);
            watch = await harness.Source.NextWatchAsync();
            Assert.Equal($"{20 + expiry}", watch.ResourceVersion);
        }

        // A watch that works ends the run: an expiry after its events lists again at once, and one right after that
        // list waits no longer than the first did.
        watch.Send(WatchEventType.Added, Service("a", "30"));
        watch.Fail(new ResourceExpiredException("too old"));
        harness.Source.ReplyToList("40", null, Service("a", "30"));
        watch = await harness.Source.NextWatchAsync();
        Assert.Equal("40", watch.ResourceVersion);
        Assert.DoesNotContain(harness.Time.Timers.Skip(seen), due => due != Silence);
        watch.Fail(new ResourceExpiredException("too old"));
        var afterWorkingWatch = await harness.Time.NextTimerAsync(seen, Silence);

        Assert.InRange(waits[0], TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.InRange(waits[1], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.InRange(waits[2], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Assert.InRange(afterWorkingWatch, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.Equal(5, harness.Source.ListRequests.Count);
        Assert.Equal(4, harness.Logger.Entries.Count(e => e.EventId.Id == 5119 && e.Level == LogLevel.Warning));
        Assert.Single(harness.Logger.Entries, e => e.EventId.Id == 5108);
    }

    [Fact]
    public async Task ExpiredAfterErrorAnswers_ListsAgainAtOnce()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        watch.Send(WatchEventType.Added, Service("b", "11"));
        await Until(() => harness.Informer.ResourceVersion == "11", "b arrived");
        var seen = harness.Time.Timers.Count;

        for (var failure = 0; failure < 3; failure++)
        {
            watch.Fail(ScriptedResourceSource.Answered(HttpStatusCode.ServiceUnavailable));
            (var wait, seen) = await harness.Time.NextTimerWithCountAsync(seen, Silence);
            harness.Time.Advance(wait);
            watch = await harness.Source.NextWatchAsync();
        }

        // The 410 is an answer too, and the one that says what to do: the backoff the errors built does not delay it.
        watch.Fail(new ResourceExpiredException("too old resource version: 11"));
        await harness.Source.WaitForListRequestsAsync(2);

        Assert.Equal(harness.Source.WatchRequests.Last().At, harness.Source.ListTimes.Last());
        Assert.DoesNotContain(harness.Time.Timers.Skip(seen), due => due != Silence);
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5108);
        Assert.DoesNotContain(harness.Logger.Entries, e => e.EventId.Id == 5119);
    }

    [Fact]
    public async Task LongOutageOfTheWatch_ThenAnswered410_ListsWithinASecondOfTheServersReturn()
    {
        await using var harness = new Harness(Defaults);
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        watch.Send(WatchEventType.Added, Service("b", "11"));
        await Until(() => harness.Informer.ResourceVersion == "11", "b arrived");
        var seen = harness.Time.Timers.Count;

        // The API server goes down: its open watch is reset, and nothing answers for 10 minutes.
        harness.Source.Unreachable = ScriptedResourceSource.ConnectionRefused();
        watch.Fail(new IOException("Connection reset by peer"));
        var outage = await RideOutOutageAsync(harness, seen, TimeSpan.FromMinutes(10));

        // It comes back without the history since resourceVersion 11, so it answers the next watch 410.
        harness.Time.Advance(outage.Remaining);
        var next = await harness.Source.NextWatchAsync();
        next.Fail(new ResourceExpiredException("too old resource version: 11"));
        await harness.Source.WaitForListRequestsAsync(2);
        harness.Source.ReplyToList("900", null, Service("b", "11"), Service("c", "850"));
        var afterList = await harness.Source.NextWatchAsync();

        Assert.Equal("11", next.ResourceVersion);
        Assert.InRange(harness.Source.ListTimes.Last() - outage.Back, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.All(outage.Waits, wait => Assert.InRange(wait, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)));
        Assert.True(outage.Waits.Count >= 600, $"{outage.Waits.Count} retries in 10 minutes");
        Assert.Equal("900", afterList.ResourceVersion);
        Assert.Equal(["b", "c"], harness.Informer.List().Select(s => s.Metadata.Name).Order());
        Assert.Single(harness.Logger.Entries, e => e.EventId.Id == 5116 && e.Level == LogLevel.Warning);
        Assert.Equal(outage.Waits.Count - 1, harness.Logger.Entries.Count(e => e.EventId.Id == 5117 && e.Level == LogLevel.Debug));
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5118 && e.Message.Contains($"after {outage.Waits.Count} attempts", StringComparison.Ordinal));
        Assert.DoesNotContain(harness.Logger.Entries, e => e.EventId.Id is 5110 or 5119);
    }

    [Fact]
    public async Task LongOutageOfTheList_ListsWithinASecondOfTheServersReturn()
    {
        await using var harness = new Harness(Defaults);
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        var watch = await harness.Source.NextWatchAsync();
        watch.Send(WatchEventType.Added, Service("b", "11"));
        await Until(() => harness.Informer.ResourceVersion == "11", "b arrived");
        var seen = harness.Time.Timers.Count;

        // The server says 410 and goes down as the informer lists again; nothing answers for 10 minutes.
        harness.Source.Unreachable = ScriptedResourceSource.ConnectionRefused();
        watch.Fail(new ResourceExpiredException("too old resource version: 11"));
        var outage = await RideOutOutageAsync(harness, seen, TimeSpan.FromMinutes(10));
        harness.Source.ReplyToList("900", null, Service("c", "850"));
        harness.Time.Advance(outage.Remaining);
        var next = await harness.Source.NextWatchAsync();

        Assert.Equal("900", next.ResourceVersion);
        Assert.Equal(outage.Waits.Count + 2, harness.Source.ListRequests.Count);
        Assert.InRange(harness.Source.ListTimes.Last() - outage.Back, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.All(outage.Waits, wait => Assert.InRange(wait, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)));
        Assert.Equal(["c"], harness.Informer.List().Select(s => s.Metadata.Name));
        Assert.Single(harness.Logger.Entries, e => e.EventId.Id == 5115 && e.Level == LogLevel.Warning);
        Assert.DoesNotContain(harness.Logger.Entries, e => e.EventId.Id == 5104);
    }

    [Fact]
    public async Task ListAnsweredWithErrors_BacksOffDoublingToMaxBackoff_AndAGoodListResetsIt()
    {
        await using var harness = new Harness();
        var seen = harness.Time.Timers.Count;
        var waits = new List<TimeSpan>();
        foreach (var status in new[] { HttpStatusCode.ServiceUnavailable, HttpStatusCode.InternalServerError, HttpStatusCode.TooManyRequests, HttpStatusCode.Forbidden, HttpStatusCode.ServiceUnavailable })
        {
            harness.Source.FailList(ScriptedResourceSource.Answered(status));
            (var wait, seen) = await harness.Time.NextTimerWithCountAsync(seen, Silence);
            waits.Add(wait);
            harness.Time.Advance(wait);
        }

        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();
        watch.Fail(ScriptedResourceSource.Answered(HttpStatusCode.ServiceUnavailable));
        var afterGoodList = await harness.Time.NextTimerAsync(seen, Silence);

        Assert.InRange(waits[0], TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.InRange(waits[1], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.All(waits.Skip(2), wait => Assert.InRange(wait, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)));
        Assert.InRange(afterGoodList, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.Equal(5, harness.Logger.Entries.Count(e => e.EventId.Id == 5104 && e.Level == LogLevel.Warning));
        Assert.DoesNotContain(harness.Logger.Entries, e => e.EventId.Id is 5115 or 5117 or 5118);
    }

    [Fact]
    public async Task WatchAnsweredWithErrors_BacksOffDoublingToMaxBackoff_AndAWorkingWatchResetsIt()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();
        var seen = harness.Time.Timers.Count;
        var backoffs = new List<TimeSpan>();

        foreach (var status in new[] { HttpStatusCode.ServiceUnavailable, HttpStatusCode.InternalServerError, HttpStatusCode.TooManyRequests, HttpStatusCode.Forbidden, HttpStatusCode.BadGateway })
        {
            watch.Fail(ScriptedResourceSource.Answered(status));
            (var wait, seen) = await harness.Time.NextTimerWithCountAsync(seen, Silence);
            backoffs.Add(wait);
            harness.Time.Advance(wait);
            watch = await harness.Source.NextWatchAsync();
            Assert.Equal("10", watch.ResourceVersion);
        }

        watch.Send(WatchEventType.Added, Service("a", "11"));
        watch.Fail(ScriptedResourceSource.Answered(HttpStatusCode.ServiceUnavailable));
        var reset = await harness.Time.NextTimerAsync(seen, Silence);

        Assert.InRange(backoffs[0], TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.InRange(backoffs[1], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.All(backoffs.Skip(2), backoff => Assert.InRange(backoff, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)));
        Assert.InRange(reset, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.Single(harness.Source.ListRequests);
        Assert.Equal(6, harness.Logger.Entries.Count(e => e.EventId.Id == 5110 && e.Level == LogLevel.Warning));
    }

    [Fact]
    public async Task WatchUnanswered_RetriesAtMostUnreachableRetryCapApart_WithoutForgivingErrorAnswers()
    {
        await using var harness = new Harness();
        harness.Source.ReplyToList("10", null);
        var watch = await harness.Source.NextWatchAsync();
        var seen = harness.Time.Timers.Count;
        var waits = new List<TimeSpan>();

        Exception[] failures =
        [
            ScriptedResourceSource.Answered(HttpStatusCode.ServiceUnavailable),
            ScriptedResourceSource.Answered(HttpStatusCode.ServiceUnavailable),
            ScriptedResourceSource.ConnectionRefused(),
            new IOException("Connection reset by peer"),
            new TaskCanceledException("The request timed out", new TimeoutException()),
            ScriptedResourceSource.Answered(HttpStatusCode.ServiceUnavailable),
        ];
        foreach (var failure in failures)
        {
            watch.Fail(failure);
            (var wait, seen) = await harness.Time.NextTimerWithCountAsync(seen, Silence);
            waits.Add(wait);
            harness.Time.Advance(wait);
            watch = await harness.Source.NextWatchAsync();
        }

        // Unanswered attempts wait at most UnreachableRetryCap (1 s), well under MaxBackoff (4 s); the error answer
        // after them goes on doubling from where the errors before them were.
        Assert.All(waits.Skip(2).Take(3), wait => Assert.InRange(wait, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1)));
        Assert.InRange(waits[^1], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Assert.Single(harness.Logger.Entries, e => e.EventId.Id == 5116 && e.Level == LogLevel.Warning);
        Assert.Equal(2, harness.Logger.Entries.Count(e => e.EventId.Id == 5117));
        Assert.Single(harness.Logger.Entries, e => e.EventId.Id == 5118 && e.Message.Contains("after 3 attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListFailure_IsRetriedAfterABackoff()
    {
        await using var harness = new Harness();
        var timers = harness.Time.Timers.Count;
        harness.Source.FailList(ScriptedResourceSource.ConnectionRefused());

        var backoff = await harness.Time.NextTimerAsync(timers, Silence);
        harness.Source.ReplyToList("10", null, Service("a", "1"));
        await harness.Source.WaitForListRequestsAsync(2, harness.Time, TimeSpan.FromMilliseconds(100));
        await harness.Informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.InRange(backoff, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5115);
        Assert.Contains(harness.Logger.Entries, e => e.EventId.Id == 5118);
        Assert.Equal(["a"], harness.Informer.List().Select(s => s.Metadata.Name));
    }

    [Fact]
    public async Task SilentWatch_IsRestartedFromTheLastResourceVersion_CountedAsSilent()
    {
        await using var harness = new Harness(Options with { SilenceTimeout = TimeSpan.FromSeconds(30) });
        using var restarts = new MetricCollector<long>(harness.Meters, LoadBalancerMeter.Name, "littlelb.kubernetes.watch.restarts");
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
        Assert.Equal(["1 reason=silent resource=services"], restarts.GetMeasurementSnapshot().Select(m => m.Describe()));
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

    [Fact]
    public void Constructor_InvalidOptions_ReportsEveryProblem()
    {
        var options = new InformerOptions { PageSize = 0, MaxBackoff = TimeSpan.FromMilliseconds(1), UnreachableRetryCap = TimeSpan.Zero };
        using var meters = new TestMeterFactory();

        var error = Assert.Throws<ArgumentException>(() => new ResourceInformer<V1Service>(
            new ScriptedResourceSource(TimeProvider.System), options, new InformerMetrics(meters), TimeProvider.System, new CapturingLogger<ResourceInformerTests>()));

        Assert.Contains("PageSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxBackoff", error.Message, StringComparison.Ordinal);
        Assert.Contains("UnreachableRetryCap", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Moves the clock through each wait the informer chooses while nothing answers, for <paramref name="length"/>;
    /// then the server is back (<see cref="ScriptedResourceSource.Unreachable"/> cleared), at <c>Back</c>, during the
    /// informer's last wait, of which <c>Remaining</c> is left.
    /// </summary>
    private static async Task<(List<TimeSpan> Waits, DateTimeOffset Back, TimeSpan Remaining)> RideOutOutageAsync(Harness harness, int seen, TimeSpan length)
    {
        var back = harness.Time.GetUtcNow() + length;
        var waits = new List<TimeSpan>();
        while (true)
        {
            (var wait, seen) = await harness.Time.NextTimerWithCountAsync(seen, Silence);
            waits.Add(wait);
            var now = harness.Time.GetUtcNow();
            if (now + wait > back)
            {
                harness.Time.Advance(back - now);
                harness.Source.Unreachable = null;
                return (waits, back, now + wait - back);
            }

            harness.Time.Advance(wait);
        }
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
            Informer = new ResourceInformer<V1Service>(Source, options ?? Options, new InformerMetrics(Meters), Time, Logger);
            Informer.Changed += Changes.Enqueue;
            Informer.Synced += () => Interlocked.Increment(ref _syncCount);
            Running = Informer.RunAsync(_stop.Token);
        }

        public TimerRecordingTimeProvider Time { get; } = new();

        public TestMeterFactory Meters { get; } = new();

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
                Meters.Dispose();
            }
        }
    }
}
