using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// Backends listen on 127.0.0.1; every listener gets its own 127.0.55.x address, so a listener's port can never clash
/// with a backend or with the ephemeral port of an outgoing connection (those are bound to 127.0.0.1).
/// </summary>
internal static class LoopbackAddresses
{
    private static int s_nextListener;

    public static IPAddress Backends => IPAddress.Loopback;

    public static IPAddress NextListenerAddress()
    {
        var n = Interlocked.Increment(ref s_nextListener);
        return new IPAddress([127, 0, 55, (byte)(1 + ((n - 1) % 250))]);
    }

    /// <summary>A fresh listener IP and a TCP port free on it.</summary>
    public static PortBinding NextListenerBinding()
    {
        var ip = NextListenerAddress();
        return new PortBinding(ip, ServicePort.Tcp(FreePort(ip)));
    }

    /// <summary>A port nothing listens on at the moment (the kernel's pick for a bind to port 0).</summary>
    public static int FreePort(IPAddress ip)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(ip, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static IPEndPoint ToIPEndPoint(this PortBinding binding) => new(binding.Ip, binding.Port.Port);
}
