using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Tests.Networking.Support;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// One machine of <see cref="ClusterNetwork"/>: a network namespace whose only link, <see cref="ClusterNetwork.Device"/>,
/// is a port of the cluster's bridge. Code runs inside it (sockets made there keep it); shell commands run there too.
/// </summary>
internal sealed class Machine
{
    public Machine(string role, NetworkNamespace space, string ip, string mac)
    {
        Role = role;
        Namespace = space;
        Ip = ip;
        Mac = mac;
    }

    /// <summary>What it is in the cluster: client, lb1, lb2, node1, node2.</summary>
    public string Role { get; }

    public NetworkNamespace Namespace { get; }

    /// <summary>The network namespace's name, for <c>ip -n NAME …</c> and <c>ip netns exec NAME …</c>.</summary>
    public string Name => Namespace.Name;

    /// <summary>Its own address on the link (not a Service's).</summary>
    public string Ip { get; }

    /// <summary>The MAC address of its link, lower case with colons as <c>ip</c> prints it.</summary>
    public string Mac { get; }

    /// <summary>Runs a shell command inside; its standard output.</summary>
    public string Exec(string shellCommand) => Namespace.Exec(shellCommand);

    /// <summary><c>ip addr show dev eth0</c>: its own address and, on a load balancer, the Services' addresses.</summary>
    public string Addresses() => Exec($"ip -4 addr show dev {ClusterNetwork.Device}");

    /// <summary>Whether <paramref name="ip"/> is an address of its link now.</summary>
    public bool Has(string ip) => Addresses().Contains($"inet {ip}/", StringComparison.Ordinal);

    /// <summary><c>ip neigh show</c>: the IP → MAC entries this machine learnt (and their state).</summary>
    public string Neighbours() => Exec("ip neigh show");

    public void SetLink(bool up) => Exec($"ip link set {ClusterNetwork.Device} {(up ? "up" : "down")}");

    /// <summary>
    /// Runs <paramref name="action"/> on a thread inside the namespace and blocks that thread on its task, so every
    /// socket the action makes, before or after its awaits, belongs to this machine.
    /// </summary>
    public Task<T> RunAsync<T>(Func<Task<T>> action) =>
        Task.Run(() => Namespace.Run(() => action().GetAwaiter().GetResult()));

    /// <summary>A TCP connection made from this machine, usable from any thread afterwards.</summary>
    public Task<Socket> ConnectAsync(string ip, int port, TimeSpan limit) => RunAsync(async () =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(limit);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(ip), port), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    /// <summary>A UDP socket of this machine (bound to any port on first send).</summary>
    public Socket UdpSocket() => Namespace.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));

    public override string ToString() => $"{Role} ({Name}, {Ip}, {Mac})";
}
