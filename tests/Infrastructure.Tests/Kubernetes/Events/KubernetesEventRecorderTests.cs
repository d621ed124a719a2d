using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Events;
using LoadBalancer.Infrastructure.Tests.Kubernetes.Status;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Events;

public sealed class KubernetesEventRecorderTests : FakeApiServerTest
{
    private static readonly ServiceKey Web = new("shop", "web");
    private static readonly ServiceEvent Allocated = new(Web, ServiceEventType.Normal, "IPAllocated", "Assigned IP 192.0.2.10 (new) for ports 80");

    private readonly CapturingLogger<KubernetesEventRecorder> _logger = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 30, 45, 123, TimeSpan.Zero));

    [Fact]
    public async Task Record_CreatesAnEventsV1EventRegardingTheService()
    {
        var service = Server.PutService(new V1Service { Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop", Uid = "uid-1234" } });
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        var recorded = Assert.Single(Server.Events);
        Assert.Equal(("events.k8s.io/v1", "shop", "IPAllocated", "Normal", "web", false, 201),
            (recorded.ApiGroup, recorded.Namespace, recorded.Reason, recorded.Type, recorded.RegardingName, recorded.IsUpdate, recorded.StatusCode));
        Assert.Equal(Allocated.Message, recorded.Note);

        var body = JsonNode.Parse(recorded.Body)!;
        Assert.Matches("^web\\.[0-9a-f]{16}$", (string?)body["metadata"]!["name"]);
        var regarding = body["regarding"]!;
        Assert.Equal(("Service", "v1", "web", "shop", "uid-1234"),
            ((string?)regarding["kind"], (string?)regarding["apiVersion"], (string?)regarding["name"], (string?)regarding["namespace"], (string?)regarding["uid"]));
        Assert.Equal("uid-1234", service.Metadata.Uid);
        Assert.Equal("Allocate", (string?)body["action"]);
        Assert.Equal("littlelb.io/load-balancer", (string?)body["reportingController"]);
        Assert.Equal("node-a", (string?)body["reportingInstance"]);
        Assert.Equal(_time.GetUtcNow(), DateTimeOffset.Parse((string)body["eventTime"]!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Record_CreatedEvent_CarriesOurManagedByLabel()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        // HeldAsync finds earlier runs' Events by this label alone, so an Event without it would be told again.
        await recorder.WrittenAsync();
        var labels = JsonNode.Parse(Assert.Single(Server.Events).Body)!["metadata"]!["labels"]!;
        Assert.Equal("little-load-balancer", (string?)labels["app.kubernetes.io/managed-by"]);
    }

    [Fact]
    public async Task Record_SameEventTwice_IsLoggedTwice_AndCountedInTheSeriesOfTheFirstEvent()
    {
        // Deciding what is news is the reconciler's (ServiceConditions): the recorder records what it is given, and a
        // repeat within the series window counts in the Event already made, as client-go's events broadcaster does.
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();
        _time.Advance(TimeSpan.FromMinutes(1));
        await recorder.RecordAsync(Allocated with { }, CancellationToken.None);
        await recorder.WrittenAsync();

        Assert.Equal(2, _logger.Entries.Count);
        Assert.Equal([(false, 201), (true, 200)], Server.Events.Select(recorded => (recorded.IsUpdate, recorded.StatusCode)));
        Assert.Single(Server.Events.Select(recorded => recorded.Name).Distinct());
        var series = JsonNode.Parse(Server.Events[1].Body)!["series"]!;
        Assert.Equal(2, (int)series["count"]!);
        Assert.Equal(_time.GetUtcNow(), DateTimeOffset.Parse((string)series["lastObservedTime"]!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Record_ManyRepeats_CountUp_AndTheEventInTheClusterHoldsTheLastCount()
    {
        await using var recorder = Recorder();

        for (var i = 0; i < 5; i++)
        {
            await recorder.RecordAsync(Allocated, CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        await recorder.WrittenAsync();

        // Repeats that come while the Event waits are sent as one write, never with a lower count after a higher one.
        var counts = Server.Events.Where(recorded => recorded.IsUpdate).Select(recorded => (int)JsonNode.Parse(recorded.Body)!["series"]!["count"]!).ToList();
        Assert.Equal(counts.Order(), counts);
        var stored = Assert.Single((await Client.EventsV1.ListNamespacedEventAsync("shop")).Items);
        Assert.Equal(5, stored.Series.Count);
        Assert.Equal(_time.GetUtcNow().AddSeconds(-10).UtcDateTime, stored.Series.LastObservedTime);
    }

    [Fact]
    public async Task Record_SameEventAfterTheSeriesWindow_IsANewEvent()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();
        _time.Advance(TimeSpan.FromMinutes(6) + TimeSpan.FromSeconds(1));
        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();

        Assert.Equal([false, false], Server.Events.Select(recorded => recorded.IsUpdate));
        Assert.Equal(2, Server.Events.Select(recorded => recorded.Name).Distinct().Count());
    }

    [Fact]
    public async Task Record_SameNoteWithAnotherReason_IsANewEvent()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.RecordAsync(Allocated with { Type = ServiceEventType.Warning }, CancellationToken.None);
        await recorder.WrittenAsync();

        Assert.Equal(2, Server.Events.Count(recorded => !recorded.IsUpdate && recorded.StatusCode == 201));
    }

    [Fact]
    public async Task Record_RepeatOfAnEventTheClusterLost_CreatesItAgainWithTheCount()
    {
        await using var recorder = Recorder();
        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();
        var name = Assert.Single(Server.Events).Name!;
        await Client.EventsV1.DeleteNamespacedEventAsync(name, "shop");

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();

        Assert.Equal([(false, 201), (true, 404), (false, 201)], Server.Events.Select(recorded => (recorded.IsUpdate, recorded.StatusCode)));
        var stored = Assert.Single((await Client.EventsV1.ListNamespacedEventAsync("shop")).Items);
        Assert.Equal((name, 2), (stored.Metadata.Name, stored.Series.Count));
    }

    [Fact]
    public async Task Record_RepeatWithoutTheRightToPatchEvents_IsAnEventOfItsOwn()
    {
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Server.BaseAddress.ToString() }, new ForbidEventPatches());
        await using var recorder = new KubernetesEventRecorder(client, new ServiceLookupStub(_ => null), Options(), _time, _logger);

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();
        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();

        var created = Server.Events.Where(recorded => !recorded.IsUpdate).ToList();
        Assert.Equal([201, 201], created.Select(recorded => recorded.StatusCode));
        Assert.NotEqual(created[0].Name, created[1].Name);
        Assert.Equal(2, (int)JsonNode.Parse(created[1].Body)!["series"]!["count"]!);
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id == 5222);
    }

    /// <summary>Answers 403 to a PATCH of an Event, as a role granting only create and list does.</summary>
    private sealed class ForbidEventPatches : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            request.Method == HttpMethod.Patch && request.RequestUri!.AbsolutePath.Contains("/events/", StringComparison.Ordinal)
                ? Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.Forbidden) { RequestMessage = request, Content = new StringContent("{}") })
                : base.SendAsync(request, cancellationToken);
    }

    [Fact]
    public async Task Record_DoesNotWaitForTheApiServer_AndAtStopWhatCouldNotBeWrittenIsDroppedWithOneLogLine()
    {
        // An API server that accepts connections and never answers.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<System.Net.Sockets.Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptSocketAsync());
            }
        });
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = $"http://{silent.LocalEndpoint}" });
        var recorder = new KubernetesEventRecorder(client, new ServiceLookupStub(_ => null), Options(), _time, _logger);

        for (var i = 0; i < 10; i++)
        {
            await recorder.RecordAsync(Allocated with { Service = new ServiceKey("shop", $"web-{i}") }, CancellationToken.None)
                .AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }

        var stopping = recorder.DisposeAsync().AsTask();
        Assert.False(stopping.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(3));
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        var dropped = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 5223);
        Assert.Equal((LogLevel.Warning, "Stopping: 10 Events were not written to the API server within 00:00:03; they are in this log only"), (dropped.Level, dropped.Message));
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id == 5222);
        accepted.ForEach(socket => socket.Dispose());
    }

    [Fact]
    public async Task Dispose_WritesTheEventsStillWaiting()
    {
        var recorder = Recorder();
        for (var i = 0; i < 20; i++)
        {
            await recorder.RecordAsync(Allocated with { Service = new ServiceKey("shop", $"web-{i}") }, CancellationToken.None);
        }

        await recorder.DisposeAsync();

        Assert.Equal(20, Server.Events.Count(recorded => recorded.StatusCode == 201));
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id == 5223);
    }

    [Fact]
    public async Task HeldAsync_ThenTheSameEvent_CountsInTheSeriesOfTheHeldEvent()
    {
        // A restart reads what the cluster holds; a repeat within the window continues that Event instead of making one.
        Server.PutEvent(HeldEvent("shop", "web.held", "web", "IPAllocated", "Normal", Allocated.Message, _time.GetUtcNow().UtcDateTime.AddMinutes(-1)));
        await using var recorder = Recorder();
        await recorder.HeldAsync(CancellationToken.None);

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();

        var recorded = Assert.Single(Server.Events);
        Assert.Equal(("web.held", true, 200), (recorded.Name, recorded.IsUpdate, recorded.StatusCode));
        Assert.Equal(2, (int)JsonNode.Parse(recorded.Body)!["series"]!["count"]!);
    }

    [Fact]
    public async Task HeldAsync_ASeries_CountsAsToldWhenItWasLastRepeated()
    {
        var start = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        var noBackends = HeldEvent("shop", "web.a", "web", "NoBackends", "Warning", "no ready endpoint", start);
        noBackends.Series = new Eventsv1EventSeries { Count = 3, LastObservedTime = start.AddMinutes(2) };
        Server.PutEvent(noBackends);
        Server.PutEvent(HeldEvent("shop", "web.b", "web", "BackendsAvailable", "Normal", "every port has backends again", start.AddMinutes(1)));

        var held = await Recorder().HeldAsync(CancellationToken.None);

        // The warning came back after the Normal event: it still stands.
        Assert.Equal(["BackendsAvailable", "NoBackends"], held.Select(serviceEvent => serviceEvent.Reason));
    }

    [Fact]
    public async Task Record_TwoEvents_GetDifferentNames()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.RecordAsync(Allocated with { Reason = "IPReleased", Message = "Released IP 192.0.2.10" }, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Equal(2, Server.Events.Select(recorded => recorded.Name).Distinct().Count());
    }

    [Fact]
    public async Task Record_ServiceUnknownToTheLookup_LeavesTheUidOut()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Null(JsonNode.Parse(Assert.Single(Server.Events).Body)!["regarding"]!["uid"]);
    }

    [Theory]
    [InlineData("IPAllocated", "Allocate")]
    [InlineData("IPReleased", "Release")]
    [InlineData("NotForwarded", "Forward")]
    [InlineData("ApplyFailed", "Apply")]
    [InlineData("Applied", "Apply")]
    [InlineData("NoEndpoints", "Reconcile")]
    public async Task Record_Action_FollowsTheReason(string reason, string action)
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated with { Reason = reason }, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Equal(action, (string?)JsonNode.Parse(Assert.Single(Server.Events).Body)!["action"]);
    }

    [Fact]
    public async Task Record_Warning_IsAWarningEventAndAWarningLogLine()
    {
        await using var recorder = Recorder();
        var failed = new ServiceEvent(Web, ServiceEventType.Warning, "ApplyFailed", "listener 192.0.2.10:80: address in use");

        await recorder.RecordAsync(failed, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Equal("Warning", Assert.Single(Server.Events).Type);
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Warning, 5221, "shop/web ApplyFailed: listener 192.0.2.10:80: address in use"), (entry.Level, entry.EventId.Id, entry.Message));
    }

    [Fact]
    public async Task Record_Normal_IsLoggedAtInformation()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Information, 5220, "shop/web IPAllocated: Assigned IP 192.0.2.10 (new) for ports 80"), (entry.Level, entry.EventId.Id, entry.Message));
    }

    [Fact]
    public async Task Record_SameEventForAnotherService_IsSent()
    {
        await using var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.RecordAsync(Allocated with { Service = new ServiceKey("shop", "api") }, CancellationToken.None);

        await recorder.WrittenAsync();
        // Written by a few writers at once, so in either order.
        Assert.Equal(["api", "web"], Server.Events.Select(recorded => recorded.RegardingName).Order());
    }

    [Fact]
    public async Task Record_ApiServerUnavailable_IsLoggedAndSwallowed_AndTheNextEventIsSent()
    {
        await using var recorder = Recorder();
        Server.Unavailable = true;

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        var failure = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 5222);
        Assert.Equal(LogLevel.Warning, failure.Level);
        Assert.Contains("IPAllocated", failure.Message, StringComparison.Ordinal);

        Server.Unavailable = false;
        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Single(Server.Events, recorded => recorded.StatusCode == 201);
    }

    [Fact]
    public async Task Record_ApiServerUnreachable_IsSwallowed()
    {
        var address = Server.BaseAddress;
        await Server.DisposeAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = address.ToString() });
        await using var recorder = new KubernetesEventRecorder(client, new ServiceLookupStub(_ => null), Options(), _time, _logger);

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Single(_logger.Entries, entry => entry.EventId.Id == 5222);
    }

    [Fact]
    public async Task Record_Cancelled_Throws()
    {
        await using var recorder = Recorder();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => recorder.RecordAsync(Allocated, cancelled.Token).AsTask());
        await recorder.RecordAsync(Allocated, CancellationToken.None);

        await recorder.WrittenAsync();
        Assert.Single(Server.Events, recorded => recorded.StatusCode == 201);
    }

    [Fact]
    public async Task Record_LongMessage_IsCutToWhatTheApiServerAccepts()
    {
        await using var recorder = Recorder();
        var message = new string('é', 700);

        await recorder.RecordAsync(Allocated with { Message = message }, CancellationToken.None);

        await recorder.WrittenAsync();
        var note = Assert.Single(Server.Events).Note!;
        Assert.True(Encoding.UTF8.GetByteCount(note) <= 1024);
        Assert.EndsWith("é…", note, StringComparison.Ordinal);
        Assert.StartsWith(new string('é', 500), note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeldAsync_ReturnsOurEventsAboutServicesInEveryNamespace_OldestFirst()
    {
        var start = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        // Stored (and listed) in namespace/name order: blog, default, shop. Their times say the opposite.
        Server.PutEvent(HeldEvent("blog", "api.b", "api", "ApplyFailed", "Warning", "address in use", start.AddSeconds(2)));
        Server.PutEvent(HeldEvent("default", "old.c", "old", "NoBackends", "Warning", "no ready endpoint", eventTime: null, lastTimestamp: start.AddSeconds(1)));
        Server.PutEvent(HeldEvent("shop", "web.a", "web", "IPAllocated", "Normal", "Assigned IP 192.0.2.10", start));

        // Not ours, or not about a Service: skipped.
        Server.PutEvent(HeldEvent("shop", "web.d", "web-5d8f", "Pulled", "Normal", "image pulled", start, kind: "Pod"));
        Server.PutEvent(HeldEvent("shop", "web.e", "web", "IPAllocated", "Normal", "another controller", start, controller: "example.com/other-lb"));
        Server.PutEvent(HeldEvent("shop", "web.f", "web", "IPAllocated", "Normal", "not labelled", start, labelled: false));
        Server.PutEvent(HeldEvent("shop", "web.g", "web", "", "Normal", "no reason", start));

        var held = await Recorder().HeldAsync(CancellationToken.None);

        Assert.Equal(
            [
                new ServiceEvent(Web, ServiceEventType.Normal, "IPAllocated", "Assigned IP 192.0.2.10"),
                new ServiceEvent(new ServiceKey("default", "old"), ServiceEventType.Warning, "NoBackends", "no ready endpoint"),
                new ServiceEvent(new ServiceKey("blog", "api"), ServiceEventType.Warning, "ApplyFailed", "address in use"),
            ],
            held);
    }

    [Fact]
    public async Task HeldAsync_ManyEvents_AreReadPageByPage_AndAllReturnedOldestFirst()
    {
        const int Count = 1001;
        var start = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        string[] namespaces = ["c", "b", "a"];
        for (var i = 0; i < Count; i++)
        {
            var ns = namespaces[i % namespaces.Length];
            Server.PutEvent(HeldEvent(ns, $"web.{Count - i:D5}", "web", "IPAllocated", "Normal", $"event {i}", start.AddSeconds(i)));
        }

        var held = await Recorder().HeldAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"event {i}"), held.Select(serviceEvent => serviceEvent.Message));
        var lists = Server.Requests.Where(request => request.Method == "GET" && request.Path == "/apis/events.k8s.io/v1/events").ToList();
        Assert.Equal(3, lists.Count);
        Assert.All(lists, request => Assert.Equal(("500", "app.kubernetes.io/managed-by=little-load-balancer"), (request.Query("limit"), request.Query("labelSelector"))));
        Assert.Equal([false, true, true], lists.Select(request => request.Query("continue") is { Length: > 0 }));
    }

    [Fact]
    public async Task HeldAsync_ReadsBackWhatRecordAsyncCreated()
    {
        await using var recorder = Recorder();
        var warning = new ServiceEvent(new ServiceKey("blog", "api"), ServiceEventType.Warning, "NoBackends", "ports 80 have no backend (no ready endpoint)");

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.WrittenAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        await recorder.RecordAsync(warning, CancellationToken.None);
        await recorder.WrittenAsync();
        var held = await Recorder().HeldAsync(CancellationToken.None);

        Assert.Equal([Allocated, warning], held);
    }

    [Fact]
    public async Task HeldAsync_NothingRecorded_IsEmpty()
    {
        Assert.Empty(await Recorder().HeldAsync(CancellationToken.None));
    }

    [Fact]
    public async Task HeldAsync_ApiServerUnavailable_Throws()
    {
        // Unlike a failed create, a failed read is the caller's to handle: it must know nothing was read.
        Server.Unavailable = true;

        await Assert.ThrowsAsync<HttpOperationException>(() => Recorder().HeldAsync(CancellationToken.None).AsTask());
    }

    [Theory]
    [InlineData(1024, false)]
    [InlineData(1025, true)]
    public void Truncate_CutsOnlyNotesOverOneKilobyte(int length, bool cut)
    {
        var note = new string('a', length);

        var truncated = KubernetesEventRecorder.Truncate(note);

        Assert.Equal(cut, truncated != note);
        Assert.True(Encoding.UTF8.GetByteCount(truncated) <= 1024);
    }

    [Fact]
    public void Truncate_DoesNotSplitASurrogatePair()
    {
        var note = "a" + string.Concat(Enumerable.Repeat("😀", 300));

        var truncated = KubernetesEventRecorder.Truncate(note);

        Assert.True(Encoding.UTF8.GetByteCount(truncated) <= 1024);
        Assert.EndsWith("😀…", truncated, StringComparison.Ordinal);
    }

    private static KubernetesEventOptions Options() => new() { ReportingInstance = "node-a" };

    /// <summary>An Event as an earlier run (or someone else) left it in the cluster.</summary>
    private static Eventsv1Event HeldEvent(
        string ns,
        string name,
        string regarding,
        string reason,
        string type,
        string note,
        DateTime? eventTime,
        DateTime? lastTimestamp = null,
        string kind = "Service",
        string controller = "littlelb.io/load-balancer",
        bool labelled = true) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = labelled ? new Dictionary<string, string> { [KubernetesEventRecorder.ManagedByLabel] = KubernetesEventRecorder.ManagedByValue } : null,
        },
        Regarding = new V1ObjectReference { ApiVersion = "v1", Kind = kind, Name = regarding, NamespaceProperty = ns },
        Reason = reason,
        Type = type,
        Note = note,
        Action = "Reconcile",
        EventTime = eventTime,
        DeprecatedLastTimestamp = lastTimestamp,
        ReportingController = controller,
        ReportingInstance = "node-b",
    };

    private KubernetesEventRecorder Recorder() =>
        new(Client, new ServiceLookupStub(key => Server.GetService(key.Namespace, key.Name)), Options(), _time, _logger);
}
