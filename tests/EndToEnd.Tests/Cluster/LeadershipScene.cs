using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using k8s;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>A Service of the scene: its port, its backend's answer prefix and the LoadBalancer IP in its status.</summary>
internal sealed record ServedService(string Name, int Port, string Ip);

/// <summary>
/// Replicas of the daemon on one Lease, serving Services whose backends listen on one node's NodePorts (the ports the
/// API server allocated, on a loopback "node" address), with what a test of leadership asks: who holds the Lease, whose
/// process listens on an IP:port, when every Service answers through its LoadBalancer IP from one replica's sockets.
/// </summary>
internal sealed partial class LeadershipScene : IAsyncDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly List<EchoBackend> _backends = [];
    private readonly List<ClusterDaemon> _daemons = [];
    private readonly string _folder;
    private readonly string _pool;
    private string _token = string.Empty;

    private LeadershipScene(TestCluster cluster, string folder, string pool)
    {
        Cluster = cluster;
        _folder = folder;
        _pool = pool;
    }

    public TestCluster Cluster { get; }

    public IReadOnlyList<ServedService> Services { get; private set; } = [];

    /// <summary>
    /// A cluster of one node at <paramref name="nodeIp"/>, a Service per port in <paramref name="ports"/> (named s0, s1 …)
    /// with an echo backend on its NodePort there, and the manifest's token for the replicas.
    /// </summary>
    public static async Task<LeadershipScene> CreateAsync(ControlPlaneFixture controlPlane, string folder, string pool, string nodeIp, params int[] ports)
    {
        var scene = new LeadershipScene(await TestCluster.CreateAsync(controlPlane), folder, pool);
        try
        {
            scene._token = await DeployManifestRbac.ApplyAsync(scene.Cluster.Server);
            await scene.Cluster.CreateNodeAsync("node", nodeIp);
            foreach (var (port, index) in ports.Select((port, index) => (port, index)))
            {
                var service = await scene.Cluster.CreateServiceAsync($"s{index}", [new ServicePort(port)]);
                var nodePort = service.Spec.Ports[0].NodePort ?? throw new InvalidOperationException("the API server allocated no NodePort");
                scene._backends.Add(new EchoBackend(service.Metadata.Name, IPAddress.Parse(nodeIp), nodePort));
            }

            return scene;
        }
        catch
        {
            await scene.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a replica (a fresh process each time, so a restarted identity is a new one).</summary>
    public async Task<ClusterDaemon> StartReplicaAsync(string identity)
    {
        var daemon = await ClusterDaemon.StartAsync(Cluster, _folder, _pool, identity, ["--no-announce"], _token);
        _daemons.Add(daemon);
        return daemon;
    }

    /// <summary>Waits until every Service has an IP in its status; remembers them in <see cref="Services"/>.</summary>
    public async Task<IReadOnlyList<ServedService>> IngressEventuallyAsync()
    {
        var services = new List<ServedService>();
        foreach (var backend in _backends)
        {
            var service = await Cluster.Admin.CoreV1.ReadNamespacedServiceAsync(backend.Name, Cluster.Namespace);
            var ip = await KubeObjects.IngressEventuallyAsync(Cluster.Admin, Cluster.Namespace, backend.Name, Limit, Replicas);
            services.Add(new ServedService(backend.Name, service.Spec.Ports[0].Port, ip));
        }

        return Services = services;
    }

    /// <summary>Every Service's ingress IPs as the API server holds them now.</summary>
    public async Task<IReadOnlyList<string>> IngressNowAsync()
    {
        var ips = new List<string>();
        foreach (var backend in _backends)
        {
            ips.AddRange(await KubeObjects.IngressAsync(Cluster.Admin, Cluster.Namespace, backend.Name));
        }

        return ips;
    }

    /// <summary>The Lease's holderIdentity read back through the API (null: released, or no Lease).</summary>
    public async Task<string?> HolderAsync()
    {
        var lease = await Cluster.Admin.CoordinationV1.ReadNamespacedLeaseAsync(Cluster.LeaseName, "kube-system");
        return string.IsNullOrEmpty(lease.Spec?.HolderIdentity) ? null : lease.Spec.HolderIdentity;
    }

    /// <summary>Polls the Lease every 20 ms until it names <paramref name="identity"/>; the time since <paramref name="since"/> started.</summary>
    public Task<TimeSpan> HolderEventuallyAsync(string identity, Stopwatch since, TimeSpan limit) =>
        WhenAsync(async () => await HolderAsync() == identity, since, limit, $"the Lease did not name {identity}");

    /// <summary>
    /// Whether every Service answers through its LoadBalancer IP from <paramref name="replica"/>'s sockets: the only
    /// listener on each IP:port is that process, and a new connection there reaches the Service's backend.
    /// </summary>
    public async Task<bool> ServedByAsync(ClusterDaemon replica)
    {
        foreach (var service in Services)
        {
            if (!ListenerPids(service.Ip, service.Port).SequenceEqual([replica.Process.Id]) || !await AnswersAsync(service))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Polls every 20 ms until <paramref name="replica"/> serves every Service; the time since <paramref name="since"/> started.</summary>
    public Task<TimeSpan> ServedByEventuallyAsync(ClusterDaemon replica, Stopwatch since, TimeSpan limit) =>
        WhenAsync(() => ServedByAsync(replica), since, limit, $"{replica.Identity} did not serve every Service");

    /// <summary>The processes listening on <paramref name="ip"/>:<paramref name="port"/> (as <c>ss -ltnp</c> shows them).</summary>
    public static IReadOnlyList<int> ListenerPids(string ip, int port)
    {
        using var ss = Process.Start(new ProcessStartInfo("ss", ["-Hltnp", "src", $"{ip}:{port}"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var listing = ss.StandardOutput.ReadToEnd();
        ss.WaitForExit();
        return [.. Pid().Matches(listing).Select(match => int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().Order()];
    }

    /// <summary>A new connection to the Service's LoadBalancer IP reaches its backend ("s0:who" from s0's echo).</summary>
    public static async Task<bool> AnswersAsync(ServedService service)
    {
        using var connection = await EchoConnection.OpenAsync(service.Ip, service.Port);
        return connection is not null && await connection.AskAsync("who") == $"{service.Name}:who";
    }

    /// <summary>Every replica's log so far, for a failure's message.</summary>
    public string Replicas() => string.Join("\n", _daemons.Select(daemon => daemon.ToString()));

    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in _daemons)
        {
            daemon.Dispose();
        }

        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }

    /// <summary>
    /// The time on <paramref name="since"/> when <paramref name="condition"/> first held, polled every 20 ms (finer
    /// than the figures measured with it) for at most <paramref name="limit"/>.
    /// </summary>
    private async Task<TimeSpan> WhenAsync(Func<Task<bool>> condition, Stopwatch since, TimeSpan limit, string failure)
    {
        while (since.Elapsed < limit)
        {
            if (await condition())
            {
                return since.Elapsed;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"{failure} within {limit.TotalSeconds:F0} s; {Replicas()}");
    }

    [GeneratedRegex(@"pid=(\d+)")]
    private static partial Regex Pid();
}
