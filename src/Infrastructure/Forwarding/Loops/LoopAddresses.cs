using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Splice;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

internal static class LoopAddresses
{
    /// <summary>The peer in a sockaddr the kernel wrote (accept4, getpeername); null when it is not an IP address.</summary>
    public static IPEndPoint? Decode(byte[] sockaddr, int length)
    {
        var family = MemoryMarshal.Read<ushort>(sockaddr);
        var addressFamily = family switch
        {
            Native.AF_INET => AddressFamily.InterNetwork,
            Native.AF_INET6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (addressFamily == AddressFamily.Unknown)
        {
            return null;
        }

        var socketAddress = new SocketAddress(addressFamily, length);
        sockaddr.AsSpan(0, length).CopyTo(socketAddress.Buffer.Span);
        var template = addressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(IPAddress.Any, 0)
            : new IPEndPoint(IPAddress.IPv6Any, 0);
        return (IPEndPoint)template.Create(socketAddress);
    }
}
