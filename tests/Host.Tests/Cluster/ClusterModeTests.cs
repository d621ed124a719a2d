using System.Diagnostics;
using System.Net;
using k8s.Models;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using Microsoft.Extensions.DependencyInjection;
using LoadBalancer.Tests.FakeKubernetesApi;
using static LoadBalancer.Host.Tests.Cluster.ClusterObjects;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// The daemon in cluster mode end to end: the real KubernetesClient against an in-process API server speaking the real
/// protocol, the real forwarder on loopback, asserting on what the API server received and on traffic.
/// Each test has its own pool inside 127/8, so tests never share an address.
/// </summary>
public sealed class ClusterModeTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    private readonly EchoBackend _backend = new("A", IPAddress.Loopback, 0);
    private FakeApiServer _api = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _api.PutNode(Node("worker-1", "127.0.0.1"));
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public void Dispose() => _backend.Dispose();

    [Fact]
    public async Task ConflictScenario_Svc2IsRefusedWithTheOriginalsWords_Svc3TakesTheNextIp_Svc4SharesSvc1sIp_AndSvc2GetsItOnceReleased()
    {
        await using var daemon = ClusterHarness.Start(_api, "127.0.111.0/29");
        await daemon.ReadyAsync();
        _api.PutService(Service("svc1", 8080, _backend.Port));
        var first = await IngressEventuallyAsync("svc1");

        _api.PutService(Service("svc2", 8080, _backend.Port, loadBalancerIp: first));
        var refusal = await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "svc2" && e.Type == "Warning"));
        _api.PutService(Service("svc3", 8080, _backend.Port));
        var third = await IngressEventuallyAsync("svc3");
        _api.PutService(Service("svc4", 8081, _backend.Port));
        var fourth = await IngressEventuallyAsync("svc4");
        await IdleAsync(daemon);

        Assert.Equal("127.0.111.1", first);
        Assert.Equal("ApplyFailed", refusal.Reason);
        Assert.Equal($"FAILED to allocate requested LoadBalancerIP {first}:8080 - Reason: IP:port {first}:8080 is already allocated", refusal.Note);
        Assert.Equal("127.0.111.2", third);
        Assert.Equal(first, fourth);
        Assert.DoesNotContain(_api.StatusPatches, patch => patch.Name == "svc2");
        Assert.Equal("A:who", await AskAsync(first, 8080));
        Assert.Equal("A:who", await AskAsync(third, 8080));
        Assert.Equal("A:who", await AskAsync(first, 8081));

        // Refused once, then left alone while Services it cannot gain from come: one attempt, one Event.
        Assert.Equal(1, AllocationRefusals(daemon));
        Assert.Single(_api.Events, e => e.RegardingName == "svc2");

        _api.DeleteService("default", "svc1");
        Assert.Equal(first, await IngressEventuallyAsync("svc2"));
        Assert.Equal("A:who", await AskAsync(first, 8080));
        Assert.Equal("A:who", await AskAsync(first, 8081));
        Assert.Equal(0, await daemon.StopAsync());
    }

    [Fact]
    public async Task RefusedService_IsNotTriedAgain_WhenAnUnrelatedServiceComesAndGoes()
    {
        await using var daemon = ClusterHarness.Start(_api, "127.0.110.0/29");
        _api.PutService(Service("holder", 8080, _backend.Port));
        await daemon.ReadyAsync();
        var held = await IngressEventuallyAsync("holder");
        _api.PutService(Service("refused", 8080, _backend.Port, loadBalancerIp: held));
        await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "refused" && e.Reason == "ApplyFailed"));
        await IdleAsync(daemon);
        Assert.Equal(1, AllocationRefusals(daemon));

        _api.PutService(Service("other", 8080, _backend.Port));
        var other = await IngressEventuallyAsync("other");
        Assert.Equal("A:who", await AskAsync(other, 8080));
        _api.DeleteService("default", "other");
        Assert.True(await EventuallyTrueAsync(async () => await AskAsync(other, 8080) is null), daemon.Log.ToString());
        await IdleAsync(daemon);

        Assert.NotEqual(held, other);
        Assert.Equal(1, AllocationRefusals(daemon));
        Assert.Single(_api.Events, e => e.RegardingName == "refused");
        Assert.DoesNotContain(_api.StatusPatches, patch => patch.Name == "refused");

        // What can help it does: the holder's release on its IP.
        _api.DeleteService("default", "holder");
        Assert.Equal(held, await IngressEventuallyAsync("refused"));
    }

    [Fact]
    public async Task Restart_RecordsNoNewEvent_ForFactsTheServicesEventsAlreadyTell()
    {
        var options = ClusterHarness.Options(backends: BackendMode.Endpoints);
        string empty;
        await using (var daemon = ClusterHarness.Start(_api, "127.0.109.0/29", options))
        {
            _api.PutService(Service("empty", 8080, nodePort: 30080, targetPort: 9));
            _api.PutService(Service("refused", 8081, nodePort: 30081, loadBalancerIp: "10.9.9.9"));
            await daemon.ReadyAsync();
            empty = await IngressEventuallyAsync("empty");
            await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "empty" && e.Reason == "NoBackends"));
            await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "refused" && e.Reason == "ApplyFailed"));
            await IdleAsync(daemon);
            Assert.Equal(0, await daemon.StopAsync());
        }

        Assert.Equal(["empty IPAllocated", "empty NoBackends", "refused ApplyFailed"],
            _api.Events.Select(e => $"{e.RegardingName} {e.Reason}").Order(StringComparer.Ordinal));
        var eventsBefore = _api.Events.Count;
        var requestsBefore = _api.Requests.Count;

        await using var restarted = ClusterHarness.Start(_api, "127.0.109.0/29", options);
        await restarted.ReadyAsync();
        await IdleAsync(restarted);

        Assert.Empty(_api.Events.Skip(eventsBefore));
        var requests = _api.Requests.Skip(requestsBefore).ToList();
        Assert.True(requests.Any(request => request.Method == "GET" && request.Path == "/apis/events.k8s.io/v1/events" && !request.IsWatch
            && request.Query("labelSelector") == "app.kubernetes.io/managed-by=little-load-balancer"),
            string.Join("\n", requests.Select(request => $"{request.Method} {request.PathAndQuery}")));
        Assert.Contains("FAILED to allocate requested LoadBalancerIP 10.9.9.9:8081", restarted.Log.ToString(), StringComparison.Ordinal);
        Assert.Equal(empty, IngressIp(_api.GetService("default", "empty")));
        Assert.Null(IngressIp(_api.GetService("default", "refused")));
    }

    [Fact]
    public async Task NodeDeleted_LeavesTheServiceWithoutBackendsAndAWarning_AndANewNodeBringsTrafficBack()
    {
        await using var daemon = ClusterHarness.Start(_api, "127.0.112.0/29");
        _api.PutService(Service("web", 8080, _backend.Port));
        await daemon.ReadyAsync();
        var ip = await IngressEventuallyAsync("web");
        Assert.Equal("A:who", await AskAsync(ip, 8080));

        _api.DeleteNode("worker-1");

        var warning = await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "web" && e.Reason == "NoBackends"));
        Assert.Contains("8080", warning.Note, StringComparison.Ordinal);
        Assert.True(await EventuallyTrueAsync(async () => await AskAsync(ip, 8080) is null));
        Assert.False(daemon.Run.IsCompleted, daemon.Log.ToString());

        _api.PutNode(Node("worker-2", "127.0.0.1"));
        Assert.True(await EventuallyTrueAsync(async () => await AskAsync(ip, 8080) == "A:who"), daemon.Log.ToString());
        Assert.Equal(ip, IngressIp(_api.GetService("default", "web")));
        await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "web" && e.Reason == "BackendsAvailable"));

        // The same outage again is news again: one more warning, not zero and not one per resync; the same words as
        // the first within minutes, so it counts in the first Event's series (a PATCH of it) instead of making another.
        _api.DeleteNode("worker-2");
        Assert.True(await EventuallyTrueAsync(() => Task.FromResult(_api.Events.Count(e => e.RegardingName == "web" && e.Reason == "NoBackends") == 2)));
        await Task.Delay(300);
        Assert.Equal(2, _api.Events.Count(e => e.RegardingName == "web" && e.Reason == "NoBackends"));
        Assert.Equal([false, true], _api.Events.Where(e => e.RegardingName == "web" && e.Reason == "NoBackends").Select(e => e.IsUpdate));
    }

    [Fact]
    public async Task TypeChangedToClusterIp_ReleasesTheServiceAndClearsItsStatus()
    {
        await using var daemon = ClusterHarness.Start(_api, "127.0.113.0/29");
        _api.PutService(Service("web", 8080, _backend.Port));
        await daemon.ReadyAsync();
        var ip = await IngressEventuallyAsync("web");

        ChangeType("web", "ClusterIP");

        Assert.True(await EventuallyTrueAsync(() => Task.FromResult(IngressIp(_api.GetService("default", "web")) is null)), daemon.Log.ToString());
        Assert.Contains(_api.StatusPatches, patch => patch.Name == "web" && patch.Body.Contains("\"ingress\":[]", StringComparison.Ordinal));
        Assert.True(await EventuallyTrueAsync(async () => await AskAsync(ip, 8080) is null));
        await EventuallyAsync(() => _api.Events.FirstOrDefault(e => e.RegardingName == "web" && e.Reason == "IPReleased"));
    }

    [Fact]
    public async Task ClassFilter_ServesItsClassAndUnclassed_AndNeverTouchesAnotherClass()
    {
        await using var daemon = ClusterHarness.Start(_api, "127.0.114.0/29", ClusterHarness.Options(loadBalancerClass: "littlelb.io/lb"));
        _api.PutService(Service("ours", 8080, _backend.Port, loadBalancerClass: "littlelb.io/lb"));
        _api.PutService(Service("theirs", 8081, _backend.Port, loadBalancerClass: "other.example/lb"));
        _api.PutService(Service("plain", 8082, _backend.Port));
        await daemon.ReadyAsync();

        await IngressEventuallyAsync("ours");
        await IngressEventuallyAsync("plain");
        await Task.Delay(300);

        Assert.DoesNotContain(_api.StatusPatches, patch => patch.Name == "theirs");
        Assert.DoesNotContain(_api.Events, e => e.RegardingName == "theirs");
        Assert.Null(IngressIp(_api.GetService("default", "theirs")));
    }

    [Fact]
    public async Task EndpointSliceChurn_MovesNewConnections_WithoutCuttingOpenOnes()
    {
        var (a, b) = EchoBackend.Pair("127.0.0.2", "127.0.0.3");
        await using var first = a;
        await using var second = b;
        await using var daemon = ClusterHarness.Start(_api, "127.0.115.0/29", ClusterHarness.Options(backends: BackendMode.Endpoints));
        _api.PutService(Service("web", 8080, nodePort: 30080, targetPort: a.Port));
        _api.PutEndpointSlice(Slice("web", a.Port, "127.0.0.2"));
        await daemon.ReadyAsync();
        var ip = await IngressEventuallyAsync("web");

        // The status can be written before the slice reaches the listener (a listener without backends resets clients):
        // the long-lived connection is opened once A answers.
        Assert.True(await EventuallyTrueAsync(async () => await EchoConnection.WhoAnswersAsync(ip, 8080) == "A"), daemon.Log.ToString());
        using var open = await EchoConnection.OpenAsync(ip, 8080);
        Assert.NotNull(open);
        Assert.Equal("A:before", await open.AskAsync("before"));

        _api.PutEndpointSlice(Slice("web", a.Port, "127.0.0.3"));

        Assert.True(await EventuallyTrueAsync(async () => await EchoConnection.WhoAnswersAsync(ip, 8080) == "B"), daemon.Log.ToString());
        Assert.Equal("A:after", await open.AskAsync("after"));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("B", await EchoConnection.WhoAnswersAsync(ip, 8080));
        }
    }

    [Fact]
    public async Task Restart_KeepsEveryIp_WritesNoStatusForThem_AndAllocatesNewServicesAround()
    {
        var before = new Dictionary<string, string>();
        await using (var daemon = ClusterHarness.Start(_api, "127.0.116.0/29"))
        {
            await daemon.ReadyAsync();
            foreach (var name in new[] { "b", "c", "d" })
            {
                _api.PutService(Service(name, 8080, _backend.Port));
                before[name] = await IngressEventuallyAsync(name);
            }

            Assert.Equal(0, await daemon.StopAsync());
        }

        // The status survived the stop; a Service that sorts first and would take the first address on a fresh
        // allocation arrives while the daemon is down.
        Assert.All(before, entry => Assert.Equal(entry.Value, IngressIp(_api.GetService("default", entry.Key))));
        _api.PutService(Service("a", 8080, _backend.Port, created: DateTime.UtcNow.AddDays(-1)));
        var patchesBefore = _api.StatusPatches.Count;
        var eventsBefore = _api.Events.Count;

        await using var restarted = ClusterHarness.Start(_api, "127.0.116.0/29");
        await restarted.ReadyAsync();

        var a = await IngressEventuallyAsync("a");
        Assert.DoesNotContain(a, before.Values);
        Assert.All(before, entry => Assert.Equal(entry.Value, IngressIp(_api.GetService("default", entry.Key))));
        Assert.Equal(["a"], _api.StatusPatches.Skip(patchesBefore).Select(patch => patch.Name).Distinct());
        // Events are written in the background, after the status.
        await EventuallyAsync(() => _api.Events.Skip(eventsBefore).FirstOrDefault(e => e.RegardingName == "a"));
        Assert.Equal(["a"], _api.Events.Skip(eventsBefore).Select(e => e.RegardingName).Distinct());
        foreach (var ip in before.Values)
        {
            Assert.Equal("A:who", await AskAsync(ip, 8080));
        }
    }

    [Fact]
    public async Task ApiOutageWithCompaction_KeepsForwarding_ThenRelistsAndConverges()
    {
        await using var daemon = ClusterHarness.Start(_api, "127.0.117.0/29");
        _api.PutService(Service("keep", 8080, _backend.Port));
        _api.PutService(Service("gone", 8081, _backend.Port));
        await daemon.ReadyAsync();
        var keep = await IngressEventuallyAsync("keep");
        var gone = await IngressEventuallyAsync("gone");

        _api.Unavailable = true;
        _api.DropWatches();
        _api.DeleteService("default", "gone");
        _api.PutService(Service("new", 8082, _backend.Port));
        _api.Compact();
        Assert.Equal("A:who", await AskAsync(keep, 8080));
        Assert.Equal("A:who", await AskAsync(gone, 8081));
        _api.Unavailable = false;

        Assert.True(await EventuallyTrueAsync(async () => await AskAsync(gone, 8081) is null), daemon.Log.ToString());
        var added = await IngressEventuallyAsync("new");
        Assert.Equal("A:who", await AskAsync(added, 8082));
        Assert.Equal("A:who", await AskAsync(keep, 8080));
        Assert.Equal(keep, IngressIp(_api.GetService("default", "keep")));
        Assert.Contains(_api.Requests, request => request.Method == "GET" && request.Path.Contains("/services", StringComparison.Ordinal)
            && !request.IsWatch && request.At > DateTimeOffset.UtcNow.AddSeconds(-30));
    }

    [Fact]
    public async Task TwoReplicasOneLease_ExactlyOneServes_AndTheStandbyTakesOverWhenTheLeaderStops()
    {
        _api.PutService(Service("web", 8080, _backend.Port));
        await using var one = ClusterHarness.Start(_api, "127.0.118.0/29", ClusterHarness.Options("one", leaderElection: true));
        await one.ReadyAsync();
        await using var two = ClusterHarness.Start(_api, "127.0.118.0/29", ClusterHarness.Options("two", leaderElection: true));
        var ip = await IngressEventuallyAsync("web");
        await (await two.SourceAsync()).Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(1500);

        Assert.True((await one.ReconcilerAsync()).IsServing);
        Assert.False((await two.ReconcilerAsync()).IsServing);
        Assert.Equal("one", _api.GetLease("kube-system", "llb-test")?.Spec.HolderIdentity);
        Assert.Equal("A:who", await AskAsync(ip, 8080));

        var stopped = Stopwatch.StartNew();
        Assert.Equal(0, await one.StopAsync());
        await two.ReadyAsync(TimeSpan.FromSeconds(10));
        var takeover = stopped.Elapsed;

        Assert.True(takeover < TimeSpan.FromSeconds(3), $"takeover took {takeover}");
        Assert.Equal("two", _api.GetLease("kube-system", "llb-test")?.Spec.HolderIdentity);
        Assert.Equal("A:who", await AskAsync(ip, 8080));
        Assert.Equal(ip, IngressIp(_api.GetService("default", "web")));
    }

    [Fact]
    public async Task StatusWriteFailing_IsRetriedUntilWritten_WithoutMovingTheService()
    {
        var failing = new FailingStatusPatches(times: 2);
        using var client = ClientThrough(failing);
        await using var daemon = ClusterHarness.Start(_api, "127.0.119.8/29", client: client);
        await daemon.ReadyAsync();

        _api.PutService(Service("web", 8080, _backend.Port));

        var ip = await IngressEventuallyAsync("web");
        Assert.Equal(2, failing.Failed);
        Assert.Equal("A:who", await AskAsync(ip, 8080));
        Assert.Single(_api.StatusPatches, patch => patch.Name == "web");
    }

    [Fact]
    public async Task StatusClearFailing_AfterTheServiceStoppedBeingOurs_IsRetriedUntilTheIpIsGone()
    {
        var failing = new FailingStatusPatches(times: 2, bodyContains: "\"ingress\":[]");
        using var client = ClientThrough(failing);
        await using var daemon = ClusterHarness.Start(_api, "127.0.119.32/29", client: client);
        _api.PutService(Service("web", 8080, _backend.Port));
        await daemon.ReadyAsync();
        var ip = await IngressEventuallyAsync("web");

        ChangeType("web", "NodePort");

        Assert.True(await EventuallyTrueAsync(() => Task.FromResult(IngressIp(_api.GetService("default", "web")) is null)), daemon.Log.ToString());
        Assert.Equal(2, failing.Failed);
        Assert.True(await EventuallyTrueAsync(async () => await AskAsync(ip, 8080) is null));
    }

    [Fact]
    public async Task TagWorkerNodes_LabelsUnlabelledNodesAtStartAndWhenAdded_WithAPatch()
    {
        _api.PutNode(Node("plain-1", "127.0.0.1", worker: false));
        await using var daemon = ClusterHarness.Start(_api, "127.0.119.16/29", ClusterHarness.Options(tagWorkerNodes: true));
        await daemon.ReadyAsync();

        _api.PutNode(Node("plain-2", "127.0.0.1", worker: false));

        Assert.True(await EventuallyTrueAsync(() => Task.FromResult(
            IsWorker("plain-1") && IsWorker("plain-2"))));
        Assert.DoesNotContain(_api.Patches, patch => patch.Name == "worker-1");
        Assert.Equal(["plain-1", "plain-2"], _api.Patches.Where(patch => patch.Resource == "nodes").Select(patch => patch.Name).Order());
        Assert.All(_api.Patches, patch => Assert.StartsWith("application/merge-patch+json", patch.ContentType, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Shutdown_DrainsEveryServicesConnectionsAtOnce_NotOneServiceAfterAnother()
    {
        var drain = TimeSpan.FromMilliseconds(1500);
        await using var daemon = ClusterHarness.Start(_api, "127.0.119.24/29", reconciler: ClusterHarness.Reconciler with { ShutdownDrain = drain });
        await daemon.ReadyAsync();
        var open = new List<EchoConnection>();
        foreach (var name in new[] { "one", "two", "three" })
        {
            _api.PutService(Service(name, 8080, _backend.Port));
            var connection = await EchoConnection.OpenAsync(await IngressEventuallyAsync(name), 8080);
            Assert.NotNull(connection);
            Assert.Equal("A:hi", await connection.AskAsync("hi"));
            open.Add(connection);
        }

        var stopping = Stopwatch.StartNew();
        Assert.Equal(0, await daemon.StopAsync());
        var took = stopping.Elapsed;

        Assert.InRange(took, drain - TimeSpan.FromMilliseconds(100), drain * 2);
        foreach (var connection in open)
        {
            Assert.Null(await connection.AskAsync("after"));
            connection.Dispose();
        }
    }

    /// <summary>A client of the API server whose requests go through <paramref name="handler"/> (which fails some).</summary>
    private k8s.Kubernetes ClientThrough(DelegatingHandler handler) =>
        new(new k8s.KubernetesClientConfiguration { Host = _api.BaseAddress.ToString() }, handler);

    private void ChangeType(string service, string type)
    {
        var changed = _api.GetService("default", service)!;
        changed.Spec.Type = type;
        _api.PutService(changed);
    }

    private bool IsWorker(string node) => _api.GetNode(node)?.Metadata.Labels?.ContainsKey("node-role.kubernetes.io/worker") == true;

    [Fact]
    public async Task TwoReplicasThroughAnApiOutage_TheLeaderKeepsForwarding_AndNobodyTakesOver()
    {
        // A 1 s Lease, so that an outage longer than the Lease is short; the elector's own tests cover the timing finely.
        static KubernetesAdapterOptions Short(string identity)
        {
            var options = ClusterHarness.Options(identity, leaderElection: true);
            return options with
            {
                LeaderElection = options.LeaderElection with
                {
                    LeaseDuration = TimeSpan.FromSeconds(1), RenewDeadline = TimeSpan.FromMilliseconds(600), RetryPeriod = TimeSpan.FromMilliseconds(200),
                },
            };
        }

        _api.PutService(Service("web", 8080, _backend.Port));
        await using var one = ClusterHarness.Start(_api, "127.0.119.40/29", Short("one"));
        await one.ReadyAsync();
        await using var two = ClusterHarness.Start(_api, "127.0.119.40/29", Short("two"));
        var ip = await IngressEventuallyAsync("web");
        await (await two.SourceAsync()).Ready.WaitAsync(TimeSpan.FromSeconds(10));
        var patches = _api.StatusPatches.Count;

        // Longer than the Lease: a standby that counted through the outage would take over.
        _api.Unavailable = true;
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(300);
            Assert.Equal("A:who", await AskAsync(ip, 8080));
        }

        var back = DateTime.UtcNow;
        _api.Unavailable = false;

        // Once the leader has renewed after the outage, the standby has seen the Lease change and cannot take it over.
        Assert.True(await EventuallyTrueAsync(() => Task.FromResult(
            _api.GetLease("kube-system", "llb-test")?.Spec is { HolderIdentity: "one", RenewTime: { } renewed } && renewed.ToUniversalTime() > back.AddMilliseconds(-5))),
            one.Log.ToString());
        Assert.True((await one.ReconcilerAsync()).IsServing, one.Log.ToString());
        Assert.False((await two.ReconcilerAsync()).IsServing);
        Assert.Equal("A:who", await AskAsync(ip, 8080));
        Assert.Equal(patches, _api.StatusPatches.Count);
    }

    /// <summary>Waits until the daemon has reconciled everything queued so far (retries waiting for their time aside).</summary>
    private static async Task IdleAsync(ClusterHarness daemon)
    {
        var queue = (await daemon.ContainerAsync()).GetRequiredService<IReconcileQueue>();
        await queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Limit);
    }

    /// <summary>How many times the allocator refused a request: each attempt of a refused Service logs one line.</summary>
    private static int AllocationRefusals(ClusterHarness daemon) =>
        daemon.Log.ToString().ReplaceLineEndings("\n").Split('\n')
            .Count(line => line.StartsWith("dbug: AllocateLoadBalancerIpHandler: FAILED to allocate", StringComparison.Ordinal));

    private async Task<string> IngressEventuallyAsync(string name)
    {
        string? ip = null;
        Assert.True(await EventuallyTrueAsync(() => Task.FromResult((ip = IngressIp(_api.GetService("default", name))) is not null)),
            $"no ingress IP for {name}; status patches: {string.Join(" | ", _api.StatusPatches.Select(p => $"{p.Name} {p.Body}"))}; events: {string.Join(" | ", _api.Events.Select(e => $"{e.RegardingName} {e.Reason} {e.Note}"))}");
        return ip!;
    }

    private static async Task<string?> AskAsync(string ip, int port)
    {
        using var connection = await EchoConnection.OpenAsync(ip, port);
        return connection is null ? null : await connection.AskAsync("who");
    }

    private static async Task<T> EventuallyAsync<T>(Func<T?> find)
        where T : class
    {
        T? found = null;
        Assert.True(await Net.EventuallyAsync(() => (found = find()) is not null, Limit), $"nothing found within {Limit}");
        return found!;
    }

    private static Task<bool> EventuallyTrueAsync(Func<Task<bool>> condition) => Net.EventuallyAsync(condition, Limit);

    /// <summary>Answers the first status patches with 503 without passing them on, as an overloaded API server does.</summary>
    private sealed class FailingStatusPatches(int times, string? bodyContains = null) : DelegatingHandler
    {
        private int _seen;
        private int _failed;

        public int Failed => Volatile.Read(ref _failed);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Patch && request.RequestUri!.AbsolutePath.EndsWith("/status", StringComparison.Ordinal)
                && (bodyContains is null || request.Content!.ReadAsStringAsync(cancellationToken).GetAwaiter().GetResult().Contains(bodyContains, StringComparison.Ordinal))
                && Interlocked.Increment(ref _seen) <= times)
            {
                Interlocked.Increment(ref _failed);
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("{}") });
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
