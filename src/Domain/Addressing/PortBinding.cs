using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Addressing;

/// <summary>One (protocol, port) taken on one IP.</summary>
public sealed record PortBinding(IPAddress Ip, ServicePort Port)
{
    public TransportProtocol Protocol => Port.Protocol;

    public override string ToString() =>
        Ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Ip}]:{Port}" : $"{Ip}:{Port}";
}
