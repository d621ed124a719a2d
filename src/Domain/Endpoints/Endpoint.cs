using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Domain.Endpoints;

/// <summary>
/// A backend a listener forwards to: a worker's NodeIP:NodePort from outside the cluster, a pod address and target
/// port from inside. Only ready endpoints take new connections.
/// </summary>
public sealed record Endpoint
{
    public Endpoint(IPAddress address, int port, string? nodeName = null, bool ready = true)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        Port = port;
        NodeName = nodeName;
        Ready = ready;
    }

    public IPAddress Address { get; }

    public int Port { get; }

    public string? NodeName { get; }

    public bool Ready { get; }

    public IPEndPoint ToIPEndPoint() => new(Address, Port);

    public override string ToString() =>
        Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
