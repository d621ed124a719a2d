using System.Net;
using LoadBalancer.EndToEnd.Tests.Cluster;
using LoadBalancer.EndToEnd.Tests.Support;
using LoadBalancer.Infrastructure.Tests.Networking.Support;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// A small cluster's network in network namespaces: a client, two load balancer machines and two worker nodes, each
/// with one link (eth0) on one bridge, which lives in a namespace of its own, so nothing of it is in this host's
/// namespace. Addresses are TEST-NET-1 (192.0.2.0/24). The client has a route to the Service pool only: it reaches
/// Services through their LoadBalancer IPs and nothing else. Disposing deletes every namespace (and with them the
/// links and addresses) and the relays to the API server.
/// </summary>
internal sealed class ClusterNetwork : IAsyncDisposable
{
    public const string Device = "eth0";

    /// <summary>The daemons' --restricted-cidr: inside <see cref="ClientRoute"/>, outside every machine's own address.</summary>
    public const string Pool = "192.0.2.100-192.0.2.119";

    /// <summary>The client's only route: the pool's /27, on its link.</summary>
    public const string ClientRoute = "192.0.2.96/27";

    private const string Bridge = "br0";

    /// <summary>Where a daemon inside a load balancer machine finds the API server (a relay's listener in its namespace).</summary>
    private const int ApiServerPortInside = 6443;

    private readonly List<NetworkNamespace> _namespaces = [];
    private readonly Dictionary<Machine, TcpRelay> _relays = [];

    private ClusterNetwork()
    {
    }

    /// <summary>The namespace of the bridge that joins every machine.</summary>
    public NetworkNamespace Switch { get; private set; } = null!;

    public Machine Client { get; private set; } = null!;

    public Machine Lb1 { get; private set; } = null!;

    public Machine Lb2 { get; private set; } = null!;

    public Machine Node1 { get; private set; } = null!;

    public Machine Node2 { get; private set; } = null!;

    public static ClusterNetwork Create()
    {
        var network = new ClusterNetwork();
        try
        {
            network.Build();
            return network;
        }
        catch
        {
            network.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>
    /// Starts the daemon's real binary inside <paramref name="machine"/> (lb1 or lb2) on its link, announcing its
    /// addresses, with the API server reached through a relay whose listener is in that namespace (made once per
    /// machine and kept across restarts of the daemon). Replicas of one <paramref name="cluster"/> share its Lease.
    /// </summary>
    public async Task<ClusterDaemon> StartDaemonAsync(TestCluster cluster, Machine machine, string folder, IReadOnlyList<string>? flags = null)
    {
        if (!_relays.ContainsKey(machine))
        {
            var listener = machine.Namespace.Run(() => TcpRelay.Listen(new IPEndPoint(IPAddress.Loopback, ApiServerPortInside)));
            _relays[machine] = TcpRelay.Start(listener, new IPEndPoint(IPAddress.Loopback, cluster.Server.Port));
        }

        return await ClusterDaemon.StartAsync(
            cluster, folder, Pool, identity: machine.Role, flags: ["--link-device", Device, .. flags ?? []],
            launcher: [RootRequirement.IpToolPath() ?? "ip", "netns", "exec", machine.Name],
            apiServerUrl: $"https://127.0.0.1:{ApiServerPortInside}");
    }

    /// <summary>The relay through which the daemon in <paramref name="machine"/> reaches the API server (to cut it).</summary>
    public TcpRelay ApiServerRelayOf(Machine machine) => _relays[machine];

    /// <summary>What each machine's link holds and what the client's neighbour table says: for a failure's message.</summary>
    public string Describe()
    {
        var lines = new List<string>();
        foreach (var machine in new[] { Client, Lb1, Lb2, Node1, Node2 }.Where(machine => machine is not null))
        {
            lines.Add($"{machine}:\n{Try(machine.Addresses)}");
        }

        if (Client is not null)
        {
            lines.Add($"client's neighbours:\n{Try(Client.Neighbours)}");
        }

        return string.Join('\n', lines);

        static string Try(Func<string> read)
        {
            try
            {
                return read();
            }
            catch (InvalidOperationException failure)
            {
                return failure.Message;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in _relays.Values)
        {
            await relay.DisposeAsync();
        }

        // The machines first, then the switch; deleting a namespace deletes its veth end and so the pair.
        foreach (var space in Enumerable.Reverse(_namespaces))
        {
            space.Dispose();
        }
    }

    private void Build()
    {
        Switch = Add(NetworkNamespace.Create());
        // No STP: a port forwards as soon as it is up, and nothing but these five machines is ever on this bridge.
        Switch.Exec($"ip link add {Bridge} type bridge stp_state 0 && ip link set {Bridge} up");
        Client = Attach("client", "192.0.2.10");
        Lb1 = Attach("lb1", "192.0.2.11");
        Lb2 = Attach("lb2", "192.0.2.12");
        Node1 = Attach("node1", "192.0.2.21");
        Node2 = Attach("node2", "192.0.2.22");
    }

    private Machine Attach(string role, string ip)
    {
        var space = Add(NetworkNamespace.Create());
        var port = $"p-{role}";
        // Made in the switch with the machine's end placed straight into its namespace: no device is ever in the host's.
        Switch.Exec($"ip link add {port} type veth peer name {Device} netns {space.Name} && ip link set {port} master {Bridge} up");
        // The client's address is a /32 with a route to the pool alone: it cannot reach a node or a load balancer's own
        // address, only Services. The others share the /24, as machines on one segment do.
        space.Exec(role == "client"
            ? $"ip addr add {ip}/32 dev {Device} && ip link set {Device} up && ip route add {ClientRoute} dev {Device} src {ip}"
            : $"ip addr add {ip}/24 dev {Device} && ip link set {Device} up");
        var mac = space.Exec($"cat /sys/class/net/{Device}/address").Trim();
        return new Machine(role, space, ip, mac);
    }

    private NetworkNamespace Add(NetworkNamespace space)
    {
        _namespaces.Add(space);
        return space;
    }
}
