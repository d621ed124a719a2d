using System.Net;
using k8s.Models;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Source;
using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Source;

public sealed class KubernetesServiceSourceTests : IAsyncLifetime, IDisposable
{
    private const string OtherClass = "example.com/other-lb";
    private static readonly ServiceKey Web = new("shop", "web");
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    private readonly FakeInformer<V1Service> _services = new();
    private readonly FakeInformer<V1Node> _nodes = new();
    private readonly FakeInformer<V1EndpointSlice> _slices = new();
    private readonly IReconcileQueue _queue = Substitute.For<IReconcileQueue>();
    private readonly CapturingLogger<KubernetesServiceSource> _logger = new();
    private CancellationTokenSource _stopping = new();
    private KubernetesServiceSource _source = null!;
    private Task _running = Task.CompletedTask;

    public Task InitializeAsync()
    {
        Start(new KubernetesServiceOptions());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await StopAsync();

    public void Dispose() => _stopping.Dispose();

    // ---- what is queued --------------------------------------------------------------------------------------------

    [Fact]
    public void ServiceAdded_OfOurs_EnqueuesItsKey()
    {
        _services.Put(Service());

        _queue.Received(1).Enqueue(Web);
        _queue.DidNotReceive().EnqueueAll();
    }

    [Fact]
    public void ServiceModified_ThatStopsBeingOurs_EnqueuesItsKey()
    {
        // What it was given must be released, so the change counts although the Service is no longer ours.
        _services.Seed(Service());
        var moved = Service();
        moved.Spec.LoadBalancerClass = OtherClass;

        _services.Put(moved);

        _queue.Received(1).Enqueue(Web);
    }

    [Fact]
    public void ServiceModified_ThatBecomesOurs_EnqueuesItsKey()
    {
        var internalOnly = Service();
        internalOnly.Spec.Type = "ClusterIP";
        _services.Seed(internalOnly);

        _services.Put(Service());

        _queue.Received(1).Enqueue(Web);
    }

    [Fact]
    public void ServiceDeleted_OfOurs_EnqueuesItsKey()
    {
        _services.Seed(Service());

        _services.Delete(Service());

        _queue.Received(1).Enqueue(Web);
    }

    [Fact]
    public void ServiceChanges_OfAnotherClassOrType_EnqueueNothing()
    {
        var other = Service();
        other.Spec.LoadBalancerClass = OtherClass;
        var internalOnly = Service("internal");
        internalOnly.Spec.Type = "ClusterIP";

        _services.Put(other);
        var otherAgain = Service();
        otherAgain.Spec.LoadBalancerClass = OtherClass;
        otherAgain.Metadata.Annotations["touched"] = "yes";
        _services.Put(otherAgain);
        _services.Put(internalOnly);
        _services.Delete(other);

        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
        _queue.DidNotReceive().EnqueueAll();
    }

    [Fact]
    public async Task ServiceChange_OfUnclassedWithIgnoreUnclassed_EnqueuesNothing_ButOfOurClassDoes()
    {
        await RestartAsync(new KubernetesServiceOptions { LoadBalancerClass = "littlelb.io/lb", ServeUnclassed = false });
        var classed = Service("classed");
        classed.Spec.LoadBalancerClass = "littlelb.io/lb";

        _services.Put(Service());
        _services.Put(classed);

        _queue.Received(1).Enqueue(new ServiceKey("shop", "classed"));
        _queue.DidNotReceive().Enqueue(Web);
    }

    [Fact]
    public void SliceChanges_EnqueueTheirOwningService()
    {
        _services.Seed(Service());
        var slice = Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.5", "w1"));

        _slices.Put(slice);
        _slices.Put(Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.6", "w1")));
        _slices.Delete(slice);

        _queue.Received(3).Enqueue(Web);
        _queue.DidNotReceive().EnqueueAll();
    }

    [Fact]
    public void SliceChanges_OfAServiceNotOursOrUnknownOrWithoutOwner_EnqueueNothing()
    {
        var other = Service("other");
        other.Spec.LoadBalancerClass = OtherClass;
        _services.Seed(other);
        var ofOther = Slice("other-a", [SlicePort("http", 8080)], Pod("10.244.1.5"));
        ofOther.Metadata.Labels["kubernetes.io/service-name"] = "other";
        var ofUnknown = Slice("gone-a", [SlicePort("http", 8080)], Pod("10.244.1.6"));
        ofUnknown.Metadata.Labels["kubernetes.io/service-name"] = "gone";
        var unowned = Slice("manual", [SlicePort("http", 8080)], Pod("10.244.1.7"));
        unowned.Metadata.Labels.Clear();

        _slices.Put(ofOther);
        _slices.Put(ofUnknown);
        _slices.Put(unowned);

        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
    }

    [Fact]
    public void NodeHeartbeat_EnqueuesNothing()
    {
        // Every node reports every few seconds; looking at every Service each time would be a storm for nothing.
        _nodes.Seed(Heartbeat(Node("w1", "10.0.0.1"), 0));

        _nodes.Put(Heartbeat(Node("w1", "10.0.0.1"), 10));
        _nodes.Put(Heartbeat(Node("w1", "10.0.0.1"), 20));

        _queue.DidNotReceive().EnqueueAll();
        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
    }

    public static TheoryData<string> NodeChanges => ["readiness", "label", "exclude label", "address", "deleting"];

    [Theory]
    [MemberData(nameof(NodeChanges))]
    public void NodeChange_ThatCanChangeBackends_EnqueuesAll(string change)
    {
        _nodes.Seed(Heartbeat(Node("w1", "10.0.0.1"), 0));
        var changed = change switch
        {
            "readiness" => Node("w1", "10.0.0.1", ready: false),
            "label" => Node("w1", "10.0.0.1", labels: new Dictionary<string, string> { ["node-role.kubernetes.io/control-plane"] = "" }),
            "exclude label" => Node("w1", "10.0.0.1", labels: new Dictionary<string, string>
            {
                ["node-role.kubernetes.io/worker"] = "",
                ["node.kubernetes.io/exclude-from-external-load-balancers"] = "true",
            }),
            "address" => Node("w1", "10.0.0.2"),
            "deleting" => Node("w1", "10.0.0.1"),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change, null),
        };
        if (change == "deleting")
        {
            changed.Metadata.DeletionTimestamp = DateTime.UtcNow;
        }

        _nodes.Put(Heartbeat(changed, 10));

        _queue.Received(1).EnqueueAll();
    }

    [Fact]
    public void NodeJoinsOrLeaves_EnqueuesAll()
    {
        _nodes.Put(Node("w2", "10.0.0.2"));
        _nodes.Delete(Node("w2", "10.0.0.2"));

        _queue.Received(2).EnqueueAll();
    }

    [Fact]
    public void ServicesRelisted_EnqueuesAll()
    {
        _services.Sync();
        _services.Sync();

        _queue.Received(2).EnqueueAll();
    }

    // ---- what is read --------------------------------------------------------------------------------------------

    [Fact]
    public void Find_OurService_IsMappedWithTheNodes()
    {
        _services.Seed(Service());
        _nodes.Seed(Node("w1", "10.0.0.1"));
        _nodes.Seed(Node("w2", "10.0.0.2", ready: false));

        var desired = _source.Find(Web);

        Assert.NotNull(desired);
        Assert.Equal(Web, desired.Key);
        Assert.Equal(["10.0.0.1:30080"], Assert.Single(desired.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
    }

    [Fact]
    public async Task Find_InEndpointsMode_UsesTheSlicesOfThatServiceOnly()
    {
        await RestartAsync(new KubernetesServiceOptions { Backends = BackendMode.Endpoints });
        _services.Seed(Service());
        _slices.Put(Slice("web-a", [SlicePort("http", 8080)], Pod("10.244.1.5")));
        var ofApi = Slice("api-a", [SlicePort("http", 8080)], Pod("10.244.9.9"));
        ofApi.Metadata.Labels["kubernetes.io/service-name"] = "api";
        _slices.Put(ofApi);
        var replaced = Slice("web-b", [SlicePort("http", 8080)], Pod("10.244.2.5"));
        _slices.Put(replaced);
        _slices.Delete(replaced);

        var desired = _source.Find(Web);

        Assert.NotNull(desired);
        Assert.Equal(["10.244.1.5:8080"], Assert.Single(desired.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
        Assert.Empty(desired.BackendNotes);
    }

    [Fact]
    public void Find_NotOursOrUnknownOrDeleted_IsNull()
    {
        var other = Service("other");
        other.Spec.LoadBalancerClass = OtherClass;
        _services.Seed(other);
        _services.Seed(Service());
        _services.Delete(Service());

        Assert.Null(_source.Find(new ServiceKey("shop", "other")));
        Assert.Null(_source.Find(new ServiceKey("shop", "unknown")));
        Assert.Null(_source.Find(Web));
    }

    [Fact]
    public void Keys_AreOurServicesOnly()
    {
        var other = Service("other");
        other.Spec.LoadBalancerClass = OtherClass;
        var internalOnly = Service("internal");
        internalOnly.Spec.Type = "ClusterIP";
        _services.Seed(Service());
        _services.Seed(Service("api", "blog"));
        _services.Seed(other);
        _services.Seed(internalOnly);

        Assert.Equal([new ServiceKey("blog", "api"), Web], _source.Keys().Order());
    }

    [Fact]
    public void RecordedIps_AreEveryStatusIpInOrder_OfAnyServiceInTheCache()
    {
        // Also of a Service that is no longer ours: the core clears the status only when it still shows our IP.
        var other = WithStatus(Service("other"), "192.0.2.20");
        other.Spec.LoadBalancerClass = OtherClass;
        _services.Seed(WithStatus(Service(), "192.0.2.10", "192.0.2.11"));
        _services.Seed(other);
        _services.Seed(Service("api"));

        Assert.Equal([IPAddress.Parse("192.0.2.10"), IPAddress.Parse("192.0.2.11")], _source.RecordedIps(Web));
        Assert.Equal([IPAddress.Parse("192.0.2.20")], _source.RecordedIps(new ServiceKey("shop", "other")));
        Assert.Empty(_source.RecordedIps(new ServiceKey("shop", "api")));
        Assert.Empty(_source.RecordedIps(new ServiceKey("shop", "unknown")));
    }

    [Fact]
    public void Recorded_IsOurServicesWithAStatusIp()
    {
        var other = WithStatus(Service("other"), "192.0.2.20");
        other.Spec.LoadBalancerClass = OtherClass;
        _services.Seed(WithStatus(Service(), "192.0.2.10"));
        _services.Seed(other);
        _services.Seed(Service("api"));

        var recorded = Assert.Single(_source.Recorded());

        Assert.Equal(Web, recorded.Service.Key);
        Assert.Equal("192.0.2.10", recorded.Ip);
        Assert.Equal([80], recorded.Service.Ports.Select(port => port.Port));
    }

    // ---- start and stop -----------------------------------------------------------------------------------------

    [Fact]
    public async Task Ready_CompletesOnceAllThreeInformersHaveSynced()
    {
        _services.Sync();
        _nodes.Sync();
        await Task.Yield();
        Assert.False(_source.Ready.IsCompleted);

        _slices.Sync();

        await _source.Ready.WaitAsync(Deadline);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5001 && entry.Level == LogLevel.Information);
    }

    [Fact]
    public async Task Stopped_BeforeTheCachesSynced_ReadyIsCancelled_AndTheHandlersAreRemoved()
    {
        await StopAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _source.Ready.WaitAsync(Deadline));
        Assert.False(_services.HasListeners);
        Assert.False(_nodes.HasListeners);
        Assert.False(_slices.HasListeners);
        _services.Sync();
        _queue.DidNotReceive().EnqueueAll();
    }

    private void Start(KubernetesServiceOptions options)
    {
        _source = new KubernetesServiceSource(_services, _nodes, _slices, _queue, options, new FakeTimeProvider(), _logger);

        // The handlers are attached before the first await, so changes raised from here on reach the source.
        _running = _source.RunAsync(_stopping.Token);
    }

    /// <summary>Replaces the source started for each test by one with other options, on the same informers.</summary>
    private async Task RestartAsync(KubernetesServiceOptions options)
    {
        await StopAsync();
        _stopping.Dispose();
        _stopping = new CancellationTokenSource();
        Start(options);
    }

    private async Task StopAsync()
    {
        await _stopping.CancelAsync();
        await _running.WaitAsync(Deadline);
    }

    private static V1Node Heartbeat(V1Node node, int seconds)
    {
        var at = new DateTime(2025, 3, 1, 12, 0, seconds, DateTimeKind.Utc);
        foreach (var condition in node.Status.Conditions)
        {
            condition.LastHeartbeatTime = at;
        }

        return node;
    }

    private static V1Service WithStatus(V1Service service, params string[] ips)
    {
        service.Status = new V1ServiceStatus
        {
            LoadBalancer = new V1LoadBalancerStatus { Ingress = [.. ips.Select(ip => new V1LoadBalancerIngress { Ip = ip, IpMode = "Proxy" })] },
        };
        return service;
    }
}
