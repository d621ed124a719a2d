using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Cluster;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// One test's small cluster: its share of the real API server (<see cref="TestCluster"/>), its network
/// (<see cref="ClusterNetwork"/>), both worker nodes registered as Nodes, and the daemons it starts in the load balancer
/// machines. Disposing stops them all, deletes the test's objects and the network, in that order, whatever happened.
/// </summary>
internal sealed class SmallCluster : IAsyncDisposable
{
    /// <summary>A generous bound for anything to converge on a busy 2-vCPU machine; the real figures are printed.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-topology-");
    private readonly List<ClusterDaemon> _daemons = [];
    private readonly List<WorkerNode> _workers = [];

    private SmallCluster(TestCluster cluster, ClusterNetwork network)
    {
        Cluster = cluster;
        Network = network;
    }

    public TestCluster Cluster { get; }

    public ClusterNetwork Network { get; }

    public WorkerNode Node1 => _workers[0];

    public WorkerNode Node2 => _workers[1];

    public IReadOnlyList<WorkerNode> Workers => _workers;

    /// <summary>The network and both worker Nodes; no daemon yet (<see cref="StartDaemonAsync"/>).</summary>
    public static async Task<SmallCluster> CreateAsync(ControlPlaneFixture controlPlane)
    {
        var cluster = await TestCluster.CreateAsync(controlPlane);
        ClusterNetwork network;
        try
        {
            network = ClusterNetwork.Create();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        var small = new SmallCluster(cluster, network);
        try
        {
            small._workers.Add(await WorkerNode.RegisterAsync(cluster, network.Node1));
            small._workers.Add(await WorkerNode.RegisterAsync(cluster, network.Node2));
            return small;
        }
        catch
        {
            await small.DisposeAsync();
            throw;
        }
    }

    /// <summary>The daemon's binary in <paramref name="machine"/> (lb1 or lb2); stopped with the cluster at the latest.</summary>
    public async Task<ClusterDaemon> StartDaemonAsync(Machine machine, IReadOnlyList<string>? flags = null)
    {
        var daemon = await Network.StartDaemonAsync(Cluster, machine, _folder.FullName, flags);
        _daemons.Add(daemon);
        return daemon;
    }

    /// <summary>Waits (bounded) until the daemon in <paramref name="machine"/> answers 200 on /readyz (asked from inside).</summary>
    public async Task WaitReadyAsync(Machine machine)
    {
        var ready = await LoadBalancer.Host.Tests.Net.EventuallyAsync(
            () =>
            {
                try
                {
                    return machine.Exec("curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:9090/readyz") == "200";
                }
                catch (InvalidOperationException)
                {
                    // Not listening yet (curl exits non-zero).
                    return false;
                }
            },
            Limit);
        Assert.True(ready, $"the daemon in {machine} was not ready within {Limit.TotalSeconds:F0} s\n{Describe()}");
    }

    /// <summary>A Service of this test's class; the answer holds the NodePorts the API server allocated.</summary>
    public Task<V1Service> CreateServiceAsync(string name, params ServicePort[] ports) => Cluster.CreateServiceAsync(name, ports);

    /// <summary>The Service's first ingress IP, once the daemon has written it.</summary>
    public Task<string> IngressEventuallyAsync(string service) =>
        KubeObjects.IngressEventuallyAsync(Cluster.Admin, Cluster.Namespace, service, Limit, Describe);

    /// <summary>Which Node's backend answers a new connection from the client to <paramref name="ip"/>:<paramref name="port"/>; null when none does.</summary>
    public Task<string?> WhoAnswersAsync(string ip, int port) =>
        Network.Client.RunAsync(() => EchoConnection.WhoAnswersAsync(ip, port));

    /// <summary>A connection from the client, kept open and used line by line.</summary>
    public Task<EchoConnection?> OpenFromClientAsync(string ip, int port) =>
        Network.Client.RunAsync(() => EchoConnection.OpenAsync(ip, port));

    /// <summary>The network's state and every daemon's log with times: what a failed assertion needs to be understood.</summary>
    public string Describe() =>
        $"{Network.Describe()}\n{string.Join('\n', _daemons.Select(daemon => daemon.ToString()))}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var daemon in _daemons)
            {
                daemon.Dispose();
            }

            foreach (var worker in _workers)
            {
                await worker.DisposeAsync();
            }

            await Cluster.DisposeAsync();
        }
        finally
        {
            await Network.DisposeAsync();
            _folder.Delete(recursive: true);
        }
    }
}
