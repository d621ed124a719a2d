using System.Net;
using LoadBalancer.EndToEnd.Tests.Cluster;
using LoadBalancer.Host.Tests.Cluster;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// A worker node of the small cluster: its Node in the API server (InternalIP = its machine's address, so the daemon
/// forwards to it) and what listens on its NodePorts inside its machine, each answer naming the Node, as kube-proxy
/// would hand a NodePort's connections to a pod on it. Disposing stops every backend.
/// </summary>
internal sealed class WorkerNode : IAsyncDisposable
{
    private readonly Dictionary<(string Protocol, int Port), IAsyncDisposable> _backends = [];

    private WorkerNode(Machine machine, string name)
    {
        Machine = machine;
        Name = name;
    }

    public Machine Machine { get; }

    /// <summary>The Node's name in the API server; every backend here answers with it.</summary>
    public string Name { get; }

    public static async Task<WorkerNode> RegisterAsync(TestCluster cluster, Machine machine) =>
        new(machine, await cluster.CreateNodeAsync(machine.Role, machine.Ip));

    /// <summary>
    /// A line echo on TCP <paramref name="nodePort"/>: each line comes back as "NODE:line", or "NODE/TAG:line" with a
    /// <paramref name="tag"/> (to tell a Service's ports apart).
    /// </summary>
    public void ServeTcp(int nodePort, string? tag = null) =>
        Add(("TCP", nodePort), Machine.Namespace.Run(() => new EchoBackend(tag is null ? Name : $"{Name}/{tag}", IPAddress.Any, nodePort)));

    /// <summary>A UDP answerer on <paramref name="nodePort"/>: each datagram comes back as "NODE:datagram".</summary>
    public void ServeUdp(int nodePort) =>
        Add(("UDP", nodePort), Machine.Namespace.Run(() => new UdpAnswerer(Name, nodePort)));

    /// <summary>The bulk-transfer backend of <see cref="StreamBackend"/> on TCP <paramref name="nodePort"/>.</summary>
    public StreamBackend ServeStreams(int nodePort)
    {
        var backend = Machine.Namespace.Run(() => new StreamBackend(nodePort));
        Add(("TCP", nodePort), backend);
        return backend;
    }

    /// <summary>Closes the TCP listener on <paramref name="nodePort"/> (and its connections): the node refuses that port.</summary>
    public async Task StopTcpAsync(int nodePort)
    {
        await _backends[("TCP", nodePort)].DisposeAsync();
        _backends.Remove(("TCP", nodePort));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }

        _backends.Clear();
    }

    public override string ToString() => $"Node {Name} on {Machine}";

    private void Add((string Protocol, int Port) key, IAsyncDisposable backend) => _backends.Add(key, backend);
}
