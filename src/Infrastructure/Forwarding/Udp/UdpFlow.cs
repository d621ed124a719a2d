using System.Buffers.Binary;
using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>
/// One client address:port of a UDP listener and its connected socket toward the backend chosen for it. Only the
/// listener's loop thread touches it.
/// </summary>
internal sealed class UdpFlow(UdpFlowKey key, byte[] clientAddress, BackendState backend, int fd, int slot, long now)
{
    public UdpFlowKey Key { get; } = key;

    /// <summary>The client's sockaddr as recvmmsg gave it, the destination of every reply.</summary>
    public byte[] ClientAddress { get; } = clientAddress;

    public BackendState Backend { get; } = backend;

    /// <summary>The socket connected to <see cref="Backend"/>: the kernel filters what comes back to the backend's address
    /// and reports its ICMP port-unreachable as ECONNREFUSED.</summary>
    public int Fd { get; } = fd;

    public int Slot { get; } = slot;

    /// <summary>The loop's clock (milliseconds) at the last datagram either way.</summary>
    public long LastActive { get; set; } = now;

    /// <summary>The backend answered at least once: its passive health was told so, once per flow rather than per datagram.</summary>
    public bool Answered { get; set; }

    public bool Closed { get; set; }
}

/// <summary>A client's address and port, read from a sockaddr_in or sockaddr_in6 without allocating.</summary>
internal readonly record struct UdpFlowKey(ulong High, ulong Low, uint PortAndFamily)
{
    public const int AddressFamilyInet = 2;
    public const int AddressFamilyInet6 = 10;

    /// <summary>The key of a sockaddr of <paramref name="length"/> bytes; IPv6 scope ids are kept, flow labels ignored.</summary>
    public static UdpFlowKey From(ReadOnlySpan<byte> sockaddr)
    {
        var family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr);
        var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
        if (family == AddressFamilyInet6 && sockaddr.Length >= 28)
        {
            var scope = BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[24..]);
            return new UdpFlowKey(
                BinaryPrimitives.ReadUInt64LittleEndian(sockaddr[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(sockaddr[16..]) ^ ((ulong)scope << 32),
                (uint)(port | (family << 16)));
        }

        return new UdpFlowKey(0, BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[4..]), (uint)(port | (family << 16)));
    }

    /// <summary>The client as an endpoint, for the policies that look at it (source-hash) and for logs.</summary>
    public static IPEndPoint ToEndPoint(ReadOnlySpan<byte> sockaddr)
    {
        var family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr);
        var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
        return family == AddressFamilyInet6
            ? new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[24..])), port)
            : new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), port);
    }
}
