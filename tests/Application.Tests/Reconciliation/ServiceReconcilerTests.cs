using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using Microsoft.Extensions.Logging;
using NSubstitute;
using static LoadBalancer.Application.Tests.Reconciliation.ReconcilerHarness;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Reconciliation;

public sealed class ServiceReconcilerTests : IAsyncDisposable
{
    private readonly ReconcilerHarness _harness = new();

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    // The start of a term.

    [Fact]
    public async Task Start_RestoresRecordedIpsBeforeAllocating_SoAnyOrderOfServicesKeepsEveryIp()
    {
        // "api" sorts first and would take .225 if anything were allocated before the records were restored.
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        _harness.Source.Put(Service("api", port: 81, backends: "10.0.0.1:81"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.225")];
        _harness.Source.Records[Key("api")] = [Ip("192.168.0.226")];

        await _harness.StartAsync();

        Assert.Equal(Ip("192.168.0.225"), _harness.Fakes.Applied.Find(Key("web"))!.Ip);
        Assert.Equal(Ip("192.168.0.226"), _harness.Fakes.Applied.Find(Key("api"))!.Ip);
        Assert.Empty(_harness.Status.Writes);
        Assert.Empty(_harness.Events.Of("web", ServiceEventReasons.Allocated));
    }

    [Fact]
    public async Task Start_AfterTheFirstPass_RemovesStaleAddressesAndIsReady()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));

        await _harness.StartAsync();

        Assert.Single(_harness.Fakes.Sender.SentOf<RemoveStaleAddresses>());
        Assert.True(_harness.Reconciler.IsServing);
        Assert.Contains(_harness.Log.Entries, entry => entry.EventId.Id == 5003 && entry.Message.Contains("1 served", StringComparison.Ordinal));
    }

    // Status.

    [Fact]
    public async Task Apply_WritesTheStatusOnce_AndNotAgainWhileTheRecordHoldsIt()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        await _harness.ChangeAsync(() => _harness.Source.Put(Service("web", backends: "10.0.0.2:80")), Key("web"));
        await _harness.ChangeAsync(() => { }, Key("web"));

        Assert.Equal([(Key("web"), Ip("192.168.0.225"))], _harness.Status.Writes);
    }

    [Fact]
    public async Task RecordEditedBySomeoneElse_IsWrittenBack()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        await _harness.ChangeAsync(() => _harness.Source.Records[Key("web")] = [Ip("192.168.0.239")], Key("web"));

        Assert.Equal(Ip("192.168.0.225"), _harness.RecordOf("web"));
        Assert.Equal(2, _harness.Status.Writes.Count);
    }

    [Fact]
    public async Task StatusWriteFails_TheServiceRuns_AndTheWriteIsRetriedWithBackoffUntilItSucceeds_LoggedOnce()
    {
        _harness.Status.Failure = new HttpRequestException("connection refused");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        Assert.NotNull(_harness.Fakes.Applied.Find(Key("web")));
        await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(200));
        await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(400));
        Assert.Null(_harness.RecordOf("web"));

        _harness.Status.Failure = null;
        await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(800));

        Assert.Equal(Ip("192.168.0.225"), _harness.RecordOf("web"));
        Assert.Single(_harness.Log.Entries, entry => entry.EventId.Id == 5011);
        Assert.Equal(2, _harness.Log.Entries.Count(entry => entry.EventId.Id == 5012));
    }

    // Refusals wait for what could resolve them.

    [Fact]
    public async Task ConflictingExplicitIp_EachRefusal_IsOneWarningEvent_AndNoOtherLineAboveDebug_EvenWhenTriedAgainInVain()
    {
        _harness.Source.Put(Service("svc1", "192.168.0.230", backends: "10.0.0.1:80"));
        _harness.Source.Put(Service("svc4", "192.168.0.230", port: 81, backends: "10.0.0.4:81"));
        await _harness.StartAsync();

        // After svc1 holds 192.168.0.230:80, not in the same pass: the workers of a pass race for the IP.
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("svc2", "192.168.0.230", backends: "10.0.0.2:80")), Key("svc2"));

        // A release on its IP wakes svc2, which is refused again for the same reason: nothing new to tell.
        await _harness.ChangeAsync(() => _harness.Source.Remove(Key("svc4")), Key("svc4"));
        Assert.True(_harness.AllocationsSentFor("svc2") >= 2, "svc2 was not tried again after the release on its IP");

        // The Event is the one line an operator sees (LoggingEventRecorder and KubernetesEventRecorder each log an
        // Event as one line): the allocator, the apply and the reconciler add nothing above Debug.
        var refusal = Assert.Single(_harness.Events.Recorded, recorded => recorded.Service == Key("svc2"));
        Assert.Equal((ServiceEventType.Warning, ServiceEventReasons.ApplyFailed), (refusal.Type, refusal.Reason));
        Assert.Equal("FAILED to allocate requested LoadBalancerIP 192.168.0.230:80 - Reason: IP:port 192.168.0.230:80 is already allocated", refusal.Message);
        IEnumerable<LoadBalancer.Tests.Shared.LogEntry> lines =
            [.. _harness.Fakes.AllocateLog.Entries, .. _harness.Fakes.ApplyLog.Entries, .. _harness.Log.Entries];
        Assert.DoesNotContain(lines, line => line.Level > LogLevel.Debug
            && (line.Message.Contains("svc2", StringComparison.Ordinal) || line.Message.Contains("already allocated", StringComparison.Ordinal)));
        Assert.Contains(_harness.Fakes.AllocateLog.Entries, line => line.Level == LogLevel.Debug && line.Message == refusal.Message);
    }

    [Fact]
    public async Task ConflictingExplicitIp_IsParked_UntouchedByOtherChanges_AndWokenByTheReleaseOfThatIp()
    {
        _harness.Source.Put(Service("svc1", "192.168.0.230", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("svc2", "192.168.0.230", backends: "10.0.0.2:80")), Key("svc2"));
        var refusal = Assert.Single(_harness.Events.Of("svc2", ServiceEventReasons.ApplyFailed));
        Assert.StartsWith("FAILED to allocate requested LoadBalancerIP 192.168.0.230:80", refusal.Message, StringComparison.Ordinal);
        var attempts = _harness.AllocationsSentFor("svc2");

        // Other Services come and go, and svc2's backends change: nothing that could free 192.168.0.230:80.
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("svc3", backends: "10.0.0.3:80")), Key("svc3"));
        await _harness.ChangeAsync(() => _harness.Source.Remove(Key("svc3")), Key("svc3"));
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("svc2", "192.168.0.230", backends: "10.0.0.9:80")), Key("svc2"));
        await _harness.AdvanceAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(attempts, _harness.AllocationsSentFor("svc2"));
        Assert.Single(_harness.Events.Of("svc2", ServiceEventReasons.ApplyFailed));
        Assert.Null(_harness.Fakes.Applied.Find(Key("svc2")));

        await _harness.ChangeAsync(() => _harness.Source.Remove(Key("svc1")), Key("svc1"));

        Assert.Equal(Ip("192.168.0.230"), _harness.Fakes.Applied.Find(Key("svc2"))!.Ip);
        Assert.Equal(Ip("192.168.0.230"), _harness.RecordOf("svc2"));
        Assert.Single(_harness.Events.Of("svc2", ServiceEventReasons.Allocated));
    }

    [Fact]
    public async Task ParkedService_EditedItself_IsTriedAgainAtOnce()
    {
        _harness.Source.Put(Service("svc1", "192.168.0.230", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("svc2", "192.168.0.230", backends: "10.0.0.2:80")), Key("svc2"));

        await _harness.ChangeAsync(() => _harness.Source.Put(Service("svc2", "192.168.0.231", backends: "10.0.0.2:80")), Key("svc2"));

        Assert.Equal(Ip("192.168.0.231"), _harness.Fakes.Applied.Find(Key("svc2"))!.Ip);
    }

    [Fact]
    public async Task ExhaustedPool_ParksTheServiceUntilAnyPortIsFreed()
    {
        await using var harness = new ReconcilerHarness();
        // The pool 192.168.0.224/28 has 14 addresses; the 15th Service on port 80 finds no room.
        var fakes = harness.Fakes;
        for (var i = 1; i <= 14; i++)
        {
            harness.Source.Put(Service($"svc{i:D2}", port: 80, backends: "10.0.0.1:80"));
        }

        await harness.StartAsync();
        await harness.ChangeAsync(() => harness.Source.Put(Service("late", port: 80, backends: "10.0.0.1:80")), Key("late"));
        Assert.Null(fakes.Applied.Find(Key("late")));
        Assert.Contains("no available IPs", Assert.Single(harness.Events.Of("late", ServiceEventReasons.ApplyFailed)).Message, StringComparison.Ordinal);
        var attempts = harness.AllocationsSentFor("late");

        await harness.ChangeAsync(() => harness.Source.Put(Service("svc01", port: 80, backends: "10.0.0.2:80")), Key("svc01"));
        Assert.Equal(attempts, harness.AllocationsSentFor("late"));

        await harness.ChangeAsync(() => harness.Source.Remove(Key("svc07")), Key("svc07"));

        Assert.NotNull(fakes.Applied.Find(Key("late")));
    }

    [Fact]
    public async Task InvalidService_IsReportedOnce_KeepsWhatRuns_AndIsAppliedOnceCorrected()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        var running = _harness.Fakes.Applied.Find(Key("web"));

        await _harness.ChangeAsync(() => _harness.Source.Put(Service("web", ip: "10.1", backends: "10.0.0.1:80")), Key("web"));
        await _harness.ChangeAsync(() => { }, Key("web"));

        var warning = Assert.Single(_harness.Events.Of("web", ServiceEventReasons.InvalidService));
        Assert.Equal("spec.loadBalancerIP: invalid IP address: '10.1'; not served as written", warning.Message);
        Assert.Same(running, _harness.Fakes.Applied.Find(Key("web")));
        Assert.Equal(2, _harness.AllocationsSentFor("web"));

        await _harness.ChangeAsync(() => _harness.Source.Put(Service("web", ip: "192.168.0.231", backends: "10.0.0.1:80")), Key("web"));

        Assert.Equal(Ip("192.168.0.231"), _harness.Fakes.Applied.Find(Key("web"))!.Ip);
    }

    // Failures that heal are retried.

    [Fact]
    public async Task ListenerThatCannotBind_IsRetriedWithCappedBackoff_WarnedOnce_AndServedOnceThePortFrees()
    {
        _harness.Fakes.FailListener("192.168.0.225:80", "bind: Address already in use");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        var warning = Assert.Single(_harness.Events.Of("web", ServiceEventReasons.ApplyFailed));
        Assert.Equal("listener 192.168.0.225:80: bind: Address already in use; retried until it succeeds", warning.Message);
        Assert.Single(_harness.Log.Entries, entry => entry.EventId.Id == 5008 && entry.Level == LogLevel.Debug);

        // 200 ms, 400, 800, 1.6 s, 3.2 s, then 5 s at most: a port held for a minute costs a retry every 5 s.
        var before = _harness.AllocationsSentFor("web");
        foreach (var delay in new[] { 200, 400, 800, 1600, 3200, 5000, 5000 })
        {
            await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(delay - 1));
            var waited = _harness.AllocationsSentFor("web");
            await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(1));
            Assert.Equal(waited + 1, _harness.AllocationsSentFor("web"));
        }

        Assert.Equal(before + 7, _harness.AllocationsSentFor("web"));
        Assert.Single(_harness.Events.Of("web", ServiceEventReasons.ApplyFailed));

        _harness.Fakes.Forwarder.ApplyAsync(default!, default).ReturnsForAnyArgs(Abstractions.ForwarderResult.Success);
        await _harness.AdvanceAsync(TimeSpan.FromSeconds(5));

        Assert.NotNull(_harness.Fakes.Applied.Find(Key("web")));
        Assert.Single(_harness.Events.Of("web", ServiceEventReasons.Allocated));
        Assert.Contains(_harness.Log.Entries, entry => entry.EventId.Id == 5010);
    }

    [Fact]
    public async Task RetriesOfAListenerThatCannotBind_LogNothingAboveDebug_AfterTheFirstWarning()
    {
        _harness.Fakes.FailListener("192.168.0.225:80", "bind: Address already in use");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        var before = Loud(_harness);

        for (var i = 0; i < 10; i++)
        {
            await _harness.AdvanceAsync(TimeSpan.FromSeconds(5));
        }

        Assert.True(_harness.AllocationsSentFor("web") >= 10);
        Assert.Equal(before, Loud(_harness));

        static int Loud(ReconcilerHarness harness) =>
            harness.Log.Entries.Count(entry => entry.Level >= LogLevel.Information)
            + harness.Fakes.ApplyLog.Entries.Count(entry => entry.Level >= LogLevel.Information);
    }

    [Fact]
    public async Task RestoredServiceWhoseListenerFailsThenRecovers_GetsAnAppliedEvent_NotAnAllocatedOne()
    {
        _harness.Fakes.FailListener("192.168.0.230:80");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.230")];
        await _harness.StartAsync();
        Assert.Single(_harness.Events.Of("web", ServiceEventReasons.ApplyFailed));

        _harness.Fakes.Forwarder.ApplyAsync(default!, default).ReturnsForAnyArgs(Abstractions.ForwarderResult.Success);
        await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(200));

        Assert.Equal(Ip("192.168.0.230"), _harness.Fakes.Applied.Find(Key("web"))!.Ip);
        Assert.Equal("Serving on 192.168.0.230 again", Assert.Single(_harness.Events.Of("web", ServiceEventReasons.Applied)).Message);
        Assert.Empty(_harness.Events.Of("web", ServiceEventReasons.Allocated));
    }

    // Events on transitions only.

    [Fact]
    public async Task NoBackends_IsReportedOnceOnTheWayIn_AndBackendsAvailableOnTheWayOut()
    {
        _harness.Source.Put(Service("web") with { NoBackendsReason = "no ready endpoint" });
        await _harness.StartAsync();
        await _harness.ChangeAsync(() => { }, Key("web"));

        var warning = Assert.Single(_harness.Events.Of("web", ServiceEventReasons.NoBackends));
        Assert.Equal("ports 80 have no backends: no ready endpoint; new connections to them are closed at once", warning.Message);

        await _harness.ChangeAsync(() => _harness.Source.Put(Service("web", backends: "10.0.0.1:80")), Key("web"));
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("web", backends: "10.0.0.2:80")), Key("web"));
        Assert.Single(_harness.Events.Of("web", ServiceEventReasons.BackendsAvailable));

        // The same outage again is news again.
        await _harness.ChangeAsync(() => _harness.Source.Put(Service("web") with { NoBackendsReason = "no ready endpoint" }), Key("web"));
        Assert.Equal(2, _harness.Events.Of("web", ServiceEventReasons.NoBackends).Count);
    }

    [Fact]
    public async Task FactsTheSinkAlreadyHolds_AreNotReportedAgainByANewTerm()
    {
        // What an earlier run (or the other replica) told, as the cluster holds it.
        _harness.Events.Held.Add(new ServiceEvent(Key("web"), ServiceEventType.Normal, ServiceEventReasons.Allocated, "Assigned IP 192.168.0.225 (new) for ports 80"));
        _harness.Events.Held.Add(new ServiceEvent(Key("web"), ServiceEventType.Warning, ServiceEventReasons.NoBackends,
            "ports 80 have no backends: no ready endpoint; new connections to them are closed at once"));
        _harness.Events.Held.Add(new ServiceEvent(Key("bad"), ServiceEventType.Warning, ServiceEventReasons.InvalidService,
            "spec.loadBalancerIP: invalid IP address: '10.1'; not served as written"));
        _harness.Source.Put(Service("web") with { NoBackendsReason = "no ready endpoint" });
        _harness.Source.Put(Service("bad", ip: "10.1", backends: "10.0.0.1:80"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.225")];

        await _harness.StartAsync();

        Assert.Empty(_harness.Events.Recorded);
    }

    [Fact]
    public async Task ReadingTheHeldEventsTakesLong_ServicesAreServedMeanwhile_AndOnlyTheTellingWaits()
    {
        var readable = new TaskCompletionSource();
        _harness.Events.HeldReadable = readable.Task;
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));

        var starting = _harness.StartAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (_harness.Fakes.Applied.Find(Key("web")) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.NotNull(_harness.Fakes.Applied.Find(Key("web")));
        Assert.Empty(_harness.Events.Recorded);
        Assert.False(starting.IsCompleted);

        readable.SetResult();
        await starting;

        Assert.Single(_harness.Events.Of("web", ServiceEventReasons.Allocated));
    }

    [Fact]
    public async Task AnnotationValuesThatCannotBeUsed_AreServedWithTheDefault_AndReportedOnce()
    {
        var service = Service("web", backends: "10.0.0.1:80") with { Warnings = ["annotation littlelb.io/health-check-interval: 'soon' is not a duration such as 10s or 500ms"] };
        _harness.Source.Put(service);
        await _harness.StartAsync();
        await _harness.ChangeAsync(() => _harness.Source.Put(service with { Backends = Service("web", backends: "10.0.0.2:80").Backends }), Key("web"));

        Assert.NotNull(_harness.Fakes.Applied.Find(Key("web")));
        var warning = Assert.Single(_harness.Events.Of("web", ServiceEventReasons.InvalidAnnotation));
        Assert.Equal(
            "annotation littlelb.io/health-check-interval: 'soon' is not a duration such as 10s or 500ms; the default is used in place of each",
            warning.Message);
    }

    // Release.

    [Fact]
    public async Task ServiceNoLongerWanted_IsReleased_ItsRecordClearedOfOurIp_AndAReleasedEvent()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        await _harness.ChangeAsync(() => _harness.Source.Remove(Key("web")), Key("web"));

        Assert.Null(_harness.Fakes.Applied.Find(Key("web")));
        Assert.Null(_harness.RecordOf("web"));
        Assert.Equal("Released IP 192.168.0.225", Assert.Single(_harness.Events.Of("web", ServiceEventReasons.Released)).Message);
        Assert.Contains("remove 192.168.0.225", _harness.Fakes.LinkCalls());
    }

    [Fact]
    public async Task ServiceNoLongerWanted_WhoseRecordShowsAnotherIp_KeepsThatRecord()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        // Another implementation took the Service over and wrote its own IP.
        _harness.Source.Records[Key("web")] = [Ip("10.9.9.9")];
        await _harness.ChangeAsync(() => _harness.Source.Remove(Key("web")), Key("web"));

        Assert.Equal(Ip("10.9.9.9"), _harness.RecordOf("web"));
        Assert.Empty(_harness.Events.Of("web", ServiceEventReasons.Released));
    }

    [Fact]
    public async Task ClearingTheRecordFails_IsRetried_AndFindsOurIpStillToClear()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        _harness.Status.Failure = new HttpRequestException("connection refused");

        await _harness.ChangeAsync(() => _harness.Source.Remove(Key("web")), Key("web"));
        Assert.Equal(Ip("192.168.0.225"), _harness.RecordOf("web"));

        _harness.Status.Failure = null;
        await _harness.AdvanceAsync(TimeSpan.FromMilliseconds(200));

        Assert.Null(_harness.RecordOf("web"));
    }

    // End of a term.

    [Fact]
    public async Task Shutdown_StopsServingEverythingWithTheShutdownDrain_KeepsRecords_AndReleasesRestoredOnlyAllocations()
    {
        _harness.Fakes.FailListener("192.168.0.226:81");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        _harness.Source.Put(Service("api", port: 81, backends: "10.0.0.1:81"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.225")];
        _harness.Source.Records[Key("api")] = [Ip("192.168.0.226")];
        await _harness.StartAsync();
        _harness.Fakes.ClearCalls();

        await _harness.EndTermAsync(stopping: true);

        Assert.Equal([("192.168.0.225:80", _harness.Options.ShutdownDrain)], _harness.Fakes.StoppedListeners());
        Assert.Empty(_harness.Fakes.Allocations.Leases());
        Assert.Equal(["remove 192.168.0.225", "remove 192.168.0.226"], _harness.Fakes.LinkCalls().Order());
        Assert.Equal(Ip("192.168.0.225"), _harness.RecordOf("web"));
        Assert.Equal(Ip("192.168.0.226"), _harness.RecordOf("api"));
        Assert.Empty(_harness.Events.Of("web", ServiceEventReasons.Released));
        Assert.False(_harness.Reconciler.IsServing);
    }

    [Fact]
    public async Task Shutdown_PoolAddressNoServiceHolds_LeavesTheLinkToo()
    {
        // What an apply cut short by the end of the term could leave: the address on the device, nothing in the registry.
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        _harness.Fakes.ClearCalls();
#pragma warning disable CA2012 // NSubstitute's arrangement: the call only names the method whose result is set.
        _harness.Fakes.Link.ListAddressesAsync(default).ReturnsForAnyArgs(_ =>
            ValueTask.FromResult<IReadOnlyList<System.Net.IPAddress>>([Ip("192.168.0.230"), Ip("10.1.1.1")]));
#pragma warning restore CA2012

        await _harness.EndTermAsync(stopping: true);

        // .225 went with web (and is off the listing); .230 is swept; 10.1.1.1 is outside the pools and belongs to the host.
        Assert.Equal(["remove 192.168.0.225", "remove 192.168.0.230"], _harness.Fakes.LinkCalls().Order());
    }

    [Fact]
    public async Task LostLease_StopsServingWithTheHandOverDrain()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();
        _harness.Fakes.ClearCalls();

        await _harness.EndTermAsync(stopping: false);

        Assert.Equal([("192.168.0.225:80", TimeSpan.Zero)], _harness.Fakes.StoppedListeners());
        Assert.Single(_harness.Fakes.Sender.SentOf<GetAllocations>());
        Assert.Single(_harness.Fakes.Sender.SentOf<RemoveService>());
    }

    [Fact]
    public async Task ChangesOutsideATerm_AreNotQueued_AndTheNextTermLooksAtEverything()
    {
        _harness.Queue.Enqueue(Key("web"));
        await _harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1));
        Assert.Empty(_harness.Fakes.Sender.SentOf<AllocateLoadBalancerIp>());

        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        await _harness.StartAsync();

        Assert.NotNull(_harness.Fakes.Applied.Find(Key("web")));
    }
}
