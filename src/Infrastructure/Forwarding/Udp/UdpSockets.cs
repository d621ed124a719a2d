using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>
/// Where a UDP listener's socket is made: the one place to configure it (buffer sizes, and later a socket filter such as
/// a source-range BPF program, which belongs here so it is in place before the first datagram is read).
/// </summary>
internal static class UdpSockets
{
    /// <summary>Receive and send buffers asked for; the kernel caps them at net.core.rmem_max / wmem_max.</summary>
    public const int BufferSize = 4 * 1024 * 1024;

    /// <summary>A non-blocking datagram socket bound to <paramref name="endPoint"/>; throws <see cref="SocketException"/> as a bind does.</summary>
    public static Socket Bind(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            // A burst of datagrams waits here while the loop is busy; the default (about 200 KiB) overflows at a few
            // thousand small datagrams.
            socket.ReceiveBufferSize = BufferSize;
            socket.SendBufferSize = BufferSize;
            socket.Blocking = false;
            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
