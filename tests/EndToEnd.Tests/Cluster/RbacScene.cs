using System.Net;
using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// One <see cref="RbacCase"/>'s cluster and daemon: a node without the test's worker label (a worker once
/// --tag-worker-nodes labels it) and Services, all made after the daemon started (so that only its watches can show
/// them), a backend on the node's NodePort or an EndpointSlice, and whether each <see cref="RbacOutcome"/> happened, read back through the API, the daemon's state and a connection.
/// </summary>
internal sealed class RbacScene : IAsyncDisposable
{
    private const string Pool = "127.0.128.64/29";
    private const string NodeIp = "127.0.0.217";

    // Never reached: the API refuses loopback endpoints, and a backend only has to be listed.
    private const string EndpointIp = "192.0.2.10";
    private const string Service = "web";

    // Asks for an IP outside the pool: refused, an ApplyFailed warning that stays true across restarts.
    private const string Outside = "outside";
    private const int Port = 8080;
    private const string OutsideIp = "127.0.128.100";

    // In the pool, and not the first address (which "web" takes).
    private const string Inside = "127.0.128.70";

    private readonly List<ClusterDaemon> _daemons = [];
    private readonly RbacCase _case;
    private readonly string _folder;
    private string _token = string.Empty;
    private string _node = string.Empty;
    private EchoBackend? _backend;

    private RbacScene(TestCluster cluster, string folder, RbacCase rbacCase)
    {
        Cluster = cluster;
        _folder = folder;
        _case = rbacCase;
    }

    public TestCluster Cluster { get; }

    public ClusterDaemon Daemon => _daemons[^1];

    public static async Task<RbacScene> CreateAsync(ControlPlaneFixture controlPlane, string folder, RbacCase rbacCase) =>
        new(await TestCluster.CreateAsync(controlPlane), folder, rbacCase);

    /// <summary>The daemon with <paramref name="token"/>, forwarding as the case says (to NodePorts: tagging nodes too).</summary>
    public async Task StartDaemonAsync(string token)
    {
        _token = token;
        if (_case.ExpiredLease)
        {
            var longAgo = DateTime.UtcNow.AddHours(-1);
            await Cluster.Admin.CoordinationV1.CreateNamespacedLeaseAsync(
                new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = Cluster.LeaseName, NamespaceProperty = "kube-system" },
                    Spec = new V1LeaseSpec { HolderIdentity = "gone", LeaseDurationSeconds = 2, AcquireTime = longAgo, RenewTime = longAgo },
                },
                "kube-system");
        }

        await StartAsync();
    }

    /// <summary>Waits until the daemon is ready, or met its first 403.</summary>
    public async Task StartedAsync(TimeSpan limit) =>
        Assert.True(
            await Net.EventuallyAsync(async () => ForbiddenLines().Count > 0 || await Daemon.ReadyAsync(), limit),
            $"the daemon neither became ready nor was refused anything within {limit.TotalSeconds:F0} s; {Daemon}");

    /// <summary>
    /// The node (without the test's worker label), the Service and its backend (an echo on the NodePort, or a slice), and a
    /// Service that asks for an IP outside the pool.
    /// </summary>
    public async Task CreateObjectsAsync()
    {
        _node = await Cluster.CreateNodeAsync("node", NodeIp, labelled: false);
        var service = await Cluster.CreateServiceAsync(Service, [new ServicePort(Port)]);
        await Cluster.CreateServiceAsync(Outside, [new ServicePort(Port)], loadBalancerIp: OutsideIp);
        if (_case.Backends == RbacBackends.NodePorts)
        {
            _backend = new EchoBackend(Service, IPAddress.Parse(NodeIp), service.Spec.Ports[0].NodePort ?? throw new InvalidOperationException("no NodePort"));
        }
        else
        {
            await KubeObjects.PutSliceAsync(Cluster.Admin, Cluster.Namespace, Service, [(null, Port, "TCP")], EndpointIp);
        }
    }

    public async Task<bool> HappenedAsync(RbacOutcome outcome)
    {
        switch (outcome)
        {
            case RbacOutcome.StatusWritten:
                return (await KubeObjects.IngressAsync(Cluster.Admin, Cluster.Namespace, Service)).Count > 0;
            case RbacOutcome.EventRecorded:
                return await AllocatedEventsAsync() > 0;
            case RbacOutcome.ExternalIpsPatchAuthorized:
                return Daemon.Process.Error.ToString().Contains("spec.externalIPs[0]: Invalid value", StringComparison.Ordinal);
            case RbacOutcome.NodeTagged:
                return (await Cluster.Admin.CoreV1.ReadNodeAsync(_node)).Metadata.Labels is { } labels
                    && labels.TryGetValue(TestCluster.WorkerLabel, out var value) && value == Cluster.Id;
            case RbacOutcome.ForwardsToLateNode:
                return await KubeObjects.IngressAsync(Cluster.Admin, Cluster.Namespace, Service) is [var ip, ..]
                    && await LeadershipScene.AnswersAsync(new ServedService(Service, Port, ip));
            case RbacOutcome.LateSliceIsABackend:
                return await BackendsAsync() is var backends && backends.Contains($"{EndpointIp}:{Port}");
            default:
                throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "an outcome of its own: see RestartedAsync and RepeatRefusalAsync");
        }
    }

    /// <summary>SIGKILLs the daemon and starts it again (same identity: it resumes its own Lease), until it has reconciled everything.</summary>
    public async Task RestartedAsync(TimeSpan limit)
    {
        Daemon.Process.Kill();
        await StartAsync();
        Assert.True(await Daemon.Process.LoggedAsync("Every Service reconciled", limit), $"the restarted daemon never reconciled; {Daemon}");
    }

    /// <summary>
    /// The Service outside the pool moved into it (served: its refusal resolved) and back out (refused again), so that
    /// the same warning comes back within the series window.
    /// </summary>
    public async Task RepeatRefusalAsync(TimeSpan limit)
    {
        await SetLoadBalancerIpAsync(Inside);
        Assert.True(
            await Net.EventuallyAsync(async () => (await KubeObjects.IngressAsync(Cluster.Admin, Cluster.Namespace, Outside)).Contains(Inside), limit),
            $"{Outside} was not served on {Inside}; {Daemon}");
        await SetLoadBalancerIpAsync(OutsideIp);
    }

    /// <summary>The ApplyFailed Events of the Service outside the pool, each with its series count.</summary>
    public async Task<IReadOnlyList<int>> RefusalCountsAsync() =>
        [.. (await KubeObjects.EventsAsync(Cluster.Admin, Cluster.Namespace, Outside)).Where(line => line.Reason == "ApplyFailed").Select(line => line.Count)];

    private Task<V1Service> SetLoadBalancerIpAsync(string ip) =>
        Cluster.Admin.CoreV1.PatchNamespacedServiceAsync(
            new V1Patch($"{{\"spec\":{{\"loadBalancerIP\":\"{ip}\"}}}}", V1Patch.PatchType.MergePatch), Outside, Cluster.Namespace);

    /// <summary>How many IPAllocated Events the Service has.</summary>
    private async Task<int> AllocatedEventsAsync() =>
        (await KubeObjects.EventsAsync(Cluster.Admin, Cluster.Namespace, Service)).Count(line => line.Reason == "IPAllocated");

    /// <summary>How many ApplyFailed Events the Service that asks for an IP outside the pool has.</summary>
    public async Task<int> RefusalEventsAsync() =>
        (await KubeObjects.EventsAsync(Cluster.Admin, Cluster.Namespace, Outside)).Count(line => line.Reason == "ApplyFailed");

    /// <summary>The lines of the daemon's log that tell of a 403, as <see cref="ClusterDaemon.AssertNeverForbidden"/> finds them.</summary>
    public IReadOnlyList<string> ForbiddenLines() =>
        [.. Daemon.Process.Error.ToString().ReplaceLineEndings("\n").Split('\n')
            .Where(line => line.Contains("Forbidden", StringComparison.OrdinalIgnoreCase) || line.Contains(" 403", StringComparison.Ordinal))];

    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in _daemons)
        {
            daemon.Dispose();
        }

        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }

    private async Task StartAsync()
    {
        string[] flags = _case.Backends == RbacBackends.NodePorts
            ? ["--no-announce", "--backends", "nodeports", "--tag-worker-nodes", .. _case.SetExternalIps ? ["--set-external-ips"] : Array.Empty<string>()]
            : ["--no-announce", "--backends", "endpoints"];
        _daemons.Add(await ClusterDaemon.StartAsync(Cluster, _folder, Pool, flags: flags, token: _token));
    }

    /// <summary>The backends of the Service's port in the daemon's /api/v1/state; empty while it does not serve it.</summary>
    private async Task<IReadOnlyList<string>> BackendsAsync()
    {
        using var state = await Daemon.StateAsync();
        return [.. state.RootElement.GetProperty("state").GetProperty("services").EnumerateArray()
            .Where(service => service.GetProperty("namespace").GetString() == Cluster.Namespace && service.GetProperty("name").GetString() == Service)
            .SelectMany(service => service.GetProperty("ports").EnumerateArray())
            .SelectMany(port => port.TryGetProperty("backends", out var backends) ? backends.EnumerateArray().ToArray() : [])
            .Select(backend => backend.GetProperty("address").GetString() ?? string.Empty)];
    }
}
