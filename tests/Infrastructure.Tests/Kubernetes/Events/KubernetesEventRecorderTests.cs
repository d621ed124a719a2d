using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
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
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

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
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        // HeldAsync finds earlier runs' Events by this label alone, so an Event without it would be told again.
        var labels = JsonNode.Parse(Assert.Single(Server.Events).Body)!["metadata"]!["labels"]!;
        Assert.Equal("little-load-balancer", (string?)labels["app.kubernetes.io/managed-by"]);
    }

    [Fact]
    public async Task Record_SameEventTwice_IsSentAndLoggedTwice()
    {
        // Deciding what is news is the reconciler's (ServiceConditions): the recorder records what it is given.
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.RecordAsync(Allocated with { }, CancellationToken.None);

        Assert.Equal(2, Server.Events.Count(recorded => recorded.StatusCode == 201));
        Assert.Equal(2, _logger.Entries.Count);
    }

    [Fact]
    public async Task Record_TwoEvents_GetDifferentNames()
    {
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.RecordAsync(Allocated with { Reason = "IPReleased", Message = "Released IP 192.0.2.10" }, CancellationToken.None);

        Assert.Equal(2, Server.Events.Select(recorded => recorded.Name).Distinct().Count());
    }

    [Fact]
    public async Task Record_ServiceUnknownToTheLookup_LeavesTheUidOut()
    {
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

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
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated with { Reason = reason }, CancellationToken.None);

        Assert.Equal(action, (string?)JsonNode.Parse(Assert.Single(Server.Events).Body)!["action"]);
    }

    [Fact]
    public async Task Record_Warning_IsAWarningEventAndAWarningLogLine()
    {
        var recorder = Recorder();
        var failed = new ServiceEvent(Web, ServiceEventType.Warning, "ApplyFailed", "listener 192.0.2.10:80: address in use");

        await recorder.RecordAsync(failed, CancellationToken.None);

        Assert.Equal("Warning", Assert.Single(Server.Events).Type);
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Warning, 5221, "shop/web ApplyFailed: listener 192.0.2.10:80: address in use"), (entry.Level, entry.EventId.Id, entry.Message));
    }

    [Fact]
    public async Task Record_Normal_IsLoggedAtInformation()
    {
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Information, 5220, "shop/web IPAllocated: Assigned IP 192.0.2.10 (new) for ports 80"), (entry.Level, entry.EventId.Id, entry.Message));
    }

    [Fact]
    public async Task Record_SameEventForAnotherService_IsSent()
    {
        var recorder = Recorder();

        await recorder.RecordAsync(Allocated, CancellationToken.None);
        await recorder.RecordAsync(Allocated with { Service = new ServiceKey("shop", "api") }, CancellationToken.None);

        Assert.Equal(["web", "api"], Server.Events.Select(recorded => recorded.RegardingName));
    }

    [Fact]
    public async Task Record_ApiServerUnavailable_IsLoggedAndSwallowed_AndTheNextEventIsSent()
    {
        var recorder = Recorder();
        Server.Unavailable = true;

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        var failure = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 5222);
        Assert.Equal(LogLevel.Warning, failure.Level);
        Assert.Contains("IPAllocated", failure.Message, StringComparison.Ordinal);

        Server.Unavailable = false;
        await recorder.RecordAsync(Allocated, CancellationToken.None);

        Assert.Single(Server.Events, recorded => recorded.StatusCode == 201);
    }

    [Fact]
    public async Task Record_ApiServerUnreachable_IsSwallowed()
    {
        var address = Server.BaseAddress;
        await Server.DisposeAsync();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = address.ToString() });
        var recorder = new KubernetesEventRecorder(client, new ServiceLookupStub(_ => null), Options(), _time, _logger);

        await recorder.RecordAsync(Allocated, CancellationToken.None);

        Assert.Single(_logger.Entries, entry => entry.EventId.Id == 5222);
    }

    [Fact]
    public async Task Record_Cancelled_Throws()
    {
        var recorder = Recorder();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => recorder.RecordAsync(Allocated, cancelled.Token).AsTask());
        await recorder.RecordAsync(Allocated, CancellationToken.None);

        Assert.Single(Server.Events, recorded => recorded.StatusCode == 201);
    }

    [Fact]
    public async Task Record_LongMessage_IsCutToWhatTheApiServerAccepts()
    {
        var recorder = Recorder();
        var message = new string('é', 700);

        await recorder.RecordAsync(Allocated with { Message = message }, CancellationToken.None);

        var note = Assert.Single(Server.Events).Note!;
        Assert.True(Encoding.UTF8.GetByteCount(note) <= 1024);
        Assert.EndsWith("é…", note, StringComparison.Ordinal);
        Assert.StartsWith(new string('é', 500), note, StringComparison.Ordinal);
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

    private KubernetesEventRecorder Recorder() =>
        new(Client, new ServiceLookupStub(key => Server.GetService(key.Namespace, key.Name)), Options(), _time, _logger);
}
