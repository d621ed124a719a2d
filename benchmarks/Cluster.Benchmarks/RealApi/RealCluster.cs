using System.Globalization;
using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>
/// etcd and kube-apiserver 1.26 on loopback ports (the end-to-end tests' <see cref="KubeApiServer"/>), with what the
/// benchmarks put in: Nodes as kubelets register them, Services created many at a time, and the daemon's command line.
/// </summary>
internal sealed class RealCluster : IAsyncDisposable
{
    /// <summary>
    /// 10,000 NodePorts instead of the default 2,768 (30000–32767), so that 5,000 Services and the latency scenario's
    /// 220 more each get the NodePort a real cluster would give them. Nothing listens on them but the probed backend.
    /// </summary>
    public const string NodePortRange = "30000-39999";

    public const string Namespace = "default";

    /// <summary>Creates in flight at once: well under the API server's 200 mutating requests in flight.</summary>
    private const int CreateParallelism = 32;

    private RealCluster(KubeApiServer server)
    {
        Server = server;
        Admin = server.AdminClient();
        ApiServerPid = ChildPid("kube-apiserver");
        EtcdPid = ChildPid("etcd");
    }

    public KubeApiServer Server { get; }

    public IKubernetes Admin { get; }

    public int? ApiServerPid { get; }

    public int? EtcdPid { get; }

    public static async Task<RealCluster> StartAsync(TextWriter progress)
    {
        await progress.WriteLineAsync($"   real API server: starting etcd ({KubeAssets.Etcd}) and kube-apiserver ({KubeAssets.ApiServer})").ConfigureAwait(false);
        var server = await KubeApiServer.StartAsync(["--service-node-port-range", NodePortRange]).ConfigureAwait(false);
        var cluster = new RealCluster(server);
        await progress.WriteLineAsync($"   real API server: {server.Url} (PID {cluster.ApiServerPid}), etcd {server.EtcdUrl} (PID {cluster.EtcdPid})").ConfigureAwait(false);
        return cluster;
    }

    /// <summary>Ready worker Nodes (label node-role.kubernetes.io/worker) with these InternalIPs.</summary>
    public async Task CreateNodesAsync(IEnumerable<string> internalIps)
    {
        var n = 0;
        foreach (var ip in internalIps)
        {
            await KubeObjects.CreateNodeAsync(Admin, $"worker-{++n}", ip).ConfigureAwait(false);
        }
    }

    /// <summary>Creates LoadBalancer Services of one TCP port each, many at a time; the NodePorts are the API server's choice.</summary>
    public async Task<TimeSpan> CreateServicesAsync(IReadOnlyList<(string Name, int Port)> services, TextWriter progress)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var done = 0;
        await Parallel.ForEachAsync(services, new ParallelOptions { MaxDegreeOfParallelism = CreateParallelism }, async (service, token) =>
        {
            await CreateServiceAsync(service.Name, service.Port, token).ConfigureAwait(false);
            if (Interlocked.Increment(ref done) % 1000 == 0)
            {
                await progress.WriteLineAsync($"   real API server: {done}/{services.Count} Services created").ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    public Task<V1Service> CreateServiceAsync(string name, int port, CancellationToken cancellationToken = default) =>
        KubeObjects.CreateServiceAsync(Admin, Namespace, name, [new ServicePort(port)], cancellationToken: cancellationToken);

    /// <summary>
    /// The daemon's command line: this API server with the admin token (system:masters: the manifest's RBAC rules are
    /// the end-to-end tests' concern, not the benchmark's), leader election on, an admin endpoint of its own (9090 may be
    /// another daemon's on a shared machine).
    /// </summary>
    public string[] DaemonArguments(string folder, string pool, string identity)
    {
        var kubeconfig = Path.Combine(folder, "kubeconfig");
        if (!File.Exists(kubeconfig))
        {
            Server.WriteKubeconfig(folder);
        }

        var election = new LoadBalancer.Infrastructure.Kubernetes.Leadership.LeaderElectionOptions();
        return
        [
            "--kubeconfig", kubeconfig, "--restricted-cidr", pool, "--no-announce", "--backends", "nodeports",
            "--lease-namespace", election.Namespace, "--lease-name", election.Name, "--lease-identity", identity,
            "--admin-address", $"127.0.0.1:{Net.FreePort("127.0.0.1").ToString(CultureInfo.InvariantCulture)}",
        ];
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The PID of this process's child named <paramref name="name"/> (KubeApiServer keeps its processes to itself).</summary>
    private static int? ChildPid(string name)
    {
        var own = Environment.ProcessId;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var parent = int.Parse(stat[(close + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (parent == own && stat[(open + 1)..close] == name)
                {
                    return pid;
                }
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return null;
    }
}
