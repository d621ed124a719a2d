using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding.Filtering;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>
/// Where a UDP listener's socket is made: the one place to configure it (buffer sizes, and the source-range socket
/// filter, attached before bind so that no datagram from outside the ranges is queued before it is in place).
/// </summary>
internal static class UdpSockets
{
    /// <summary>Receive and send buffers asked for; the kernel caps them at net.core.rmem_max / wmem_max.</summary>
    public const int BufferSize = 4 * 1024 * 1024;

    /// <summary>A non-blocking datagram socket bound to <paramref name="endPoint"/>; throws <see cref="SocketException"/> as a bind does.</summary>
    /// <param name="filterProblem">Null when the source-range filter is attached (or none is asked for); else why the kernel refused it.</param>
    public static Socket Bind(IPEndPoint endPoint, IReadOnlyList<IpCidr> sourceRanges, out string? filterProblem)
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
            filterProblem = sourceRanges.Count > 0 ? SourceRangeFilter.Attach(socket, sourceRanges) : null;
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
