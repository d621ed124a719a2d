using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.ProxyProtocol;

/// <summary>
/// Encodes the PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1 and 2) that tells a backend who the
/// client is and which address it connected to. Both forms are shorter than the smallest MSS, as the spec requires.
/// </summary>
internal static class ProxyHeader
{
    /// <summary>Enough for any header written here: the longest v1 line is 104 bytes, the v2 header for IPv6 52.</summary>
    public const int MaxLength = 108;

    /// <summary>The v2 signature: 12 bytes chosen to be rejected by every common protocol, a NUL in fifth place.</summary>
    public static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private const byte V2Proxy = 0x21;
    private const byte V2Local = 0x20;
    private const byte V2TcpOverIPv4 = 0x11;
    private const byte V2TcpOverIPv6 = 0x21;
    private const byte V2Unspecified = 0x00;

    /// <summary>The header of a relayed connection: <paramref name="source"/> is the client, <paramref name="destination"/> the address it connected to.</summary>
    public static byte[] Create(ProxyProtocolVersion version, IPEndPoint source, IPEndPoint destination)
    {
        Span<byte> buffer = stackalloc byte[MaxLength];
        var length = Write(version, source, destination, buffer);
        return buffer[..length].ToArray();
    }

    /// <summary>
    /// The header of a connection the forwarder makes for itself, a health check: v2 says LOCAL with no addresses, which
    /// the receiver must accept and read as "use the real endpoints"; v1 has no such command, and the spec asks for a
    /// line filled with the connection's own getsockname()/getpeername() pair rather than UNKNOWN, which some servers refuse.
    /// </summary>
    public static byte[] CreateLocal(ProxyProtocolVersion version, IPEndPoint local, IPEndPoint remote)
    {
        if (version != ProxyProtocolVersion.V2)
        {
            return Create(version, local, remote);
        }

        var header = new byte[16];
        V2Signature.CopyTo(header);
        header[12] = V2Local;
        header[13] = V2Unspecified;
        return header;
    }

    /// <summary>Sends the <see cref="CreateLocal"/> header on a connected socket (a health check's); nothing for None.</summary>
    public static async ValueTask SendLocalAsync(Socket socket, ProxyProtocolVersion version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (version == ProxyProtocolVersion.None)
        {
            return;
        }

        var header = CreateLocal(version, (IPEndPoint)socket.LocalEndPoint!, (IPEndPoint)socket.RemoteEndPoint!);
        for (var sent = 0; sent < header.Length;)
        {
            sent += await socket.SendAsync(header.AsMemory(sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the header into <paramref name="buffer"/> (at least <see cref="MaxLength"/> bytes) and returns its length.</summary>
    public static int Write(ProxyProtocolVersion version, IPEndPoint source, IPEndPoint destination, Span<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, MaxLength);
        var (sourceAddress, destinationAddress) = SameFamily(source.Address, destination.Address);
        return version switch
        {
            ProxyProtocolVersion.V1 => WriteV1(sourceAddress, source.Port, destinationAddress, destination.Port, buffer),
            ProxyProtocolVersion.V2 => WriteV2(sourceAddress, source.Port, destinationAddress, destination.Port, buffer),
            _ => throw new ArgumentOutOfRangeException(nameof(version), version, "no header for this version"),
        };
    }

    /// <summary>
    /// Both addresses in one family, as both forms require: an IPv4-mapped IPv6 address (a dual-stack socket's view of
    /// an IPv4 peer) is written as the IPv4 address it is; should only one side be IPv4, it is mapped to IPv6 instead.
    /// </summary>
    internal static (IPAddress Source, IPAddress Destination) SameFamily(IPAddress source, IPAddress destination)
    {
        source = source.IsIPv4MappedToIPv6 ? source.MapToIPv4() : source;
        destination = destination.IsIPv4MappedToIPv6 ? destination.MapToIPv4() : destination;
        if (source.AddressFamily != destination.AddressFamily)
        {
            source = source.MapToIPv6();
            destination = destination.MapToIPv6();
        }

        return (source, destination);
    }

    private static int WriteV1(IPAddress source, int sourcePort, IPAddress destination, int destinationPort, Span<byte> buffer)
    {
        var written = 0;
        Append(buffer, ref written, source.AddressFamily == AddressFamily.InterNetwork ? "PROXY TCP4 "u8 : "PROXY TCP6 "u8);

        // IPAddress formats IPv4 as dotted decimal without leading zeros and IPv6 in RFC 5952 form (one '::' for the
        // longest run of zero groups, no scope id on a global address), both canonical as the spec asks.
        written += Format(source, buffer[written..]);
        buffer[written++] = (byte)' ';
        written += Format(destination, buffer[written..]);
        buffer[written++] = (byte)' ';
        written += FormatPort(sourcePort, buffer[written..]);
        buffer[written++] = (byte)' ';
        written += FormatPort(destinationPort, buffer[written..]);
        Append(buffer, ref written, "\r\n"u8);
        return written;
    }

    private static int WriteV2(IPAddress source, int sourcePort, IPAddress destination, int destinationPort, Span<byte> buffer)
    {
        var ipv4 = source.AddressFamily == AddressFamily.InterNetwork;
        var addressLength = ipv4 ? 4 : 16;
        var blockLength = (2 * addressLength) + 4;
        V2Signature.CopyTo(buffer);
        buffer[12] = V2Proxy;
        buffer[13] = ipv4 ? V2TcpOverIPv4 : V2TcpOverIPv6;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[14..], (ushort)blockLength);
        var block = buffer.Slice(16, blockLength);
        if (!source.TryWriteBytes(block, out _) || !destination.TryWriteBytes(block[addressLength..], out _))
        {
            throw new InvalidOperationException("an address did not fit its slot of the v2 header");
        }

        // Scope ids stay out: the header carries the 16 address bytes only, as getpeername() would give them.
        BinaryPrimitives.WriteUInt16BigEndian(block[(2 * addressLength)..], (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(block[((2 * addressLength) + 2)..], (ushort)destinationPort);
        return 16 + blockLength;
    }

    private static int Format(IPAddress address, Span<byte> buffer)
    {
        // A link-local peer's scope id ("%eth0") is local to this host and no part of the canonical address.
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }

        return address.TryFormat(buffer, out var written)
            ? written
            : throw new InvalidOperationException("an address did not fit the v1 header");
    }

    private static int FormatPort(int port, Span<byte> buffer) =>
        ((ushort)port).TryFormat(buffer, out var written, default, System.Globalization.CultureInfo.InvariantCulture)
            ? written
            : throw new InvalidOperationException("a port did not fit the v1 header");

    private static void Append(Span<byte> buffer, ref int written, ReadOnlySpan<byte> text)
    {
        text.CopyTo(buffer[written..]);
        written += text.Length;
    }
}
