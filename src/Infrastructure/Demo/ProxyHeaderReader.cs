using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Demo;

/// <summary>What a PROXY protocol header said: the client and the address it dialled, or nothing for LOCAL and UNKNOWN.</summary>
/// <param name="Source">Null for a v2 LOCAL header (a health check) or a v1 UNKNOWN line: use the connection's own peer.</param>
public sealed record ProxyHeaderInfo(ProxyProtocolVersion Version, IPEndPoint? Source, IPEndPoint? Destination);

/// <summary>
/// The receiving side of the PROXY protocol (doc/proxy-protocol.txt) for the demo backend and the tests: it reads
/// exactly the header, never a byte of what follows, and rejects anything that is not a complete, valid one.
/// </summary>
public static class ProxyHeaderReader
{
    /// <summary>A v1 line, CRLF included, is at most 107 bytes.</summary>
    public const int MaxV1Length = 107;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Reads one header from <paramref name="stream"/>; the error names what was wrong.</summary>
    public static async Task<(ProxyHeaderInfo? Header, string? Error)> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[16 + ushort.MaxValue];
        if (!await FillAsync(stream, buffer.AsMemory(0, 5), cancellationToken).ConfigureAwait(false))
        {
            return (null, "the connection ended before a PROXY protocol header");
        }

        if (buffer.AsSpan(0, 5).SequenceEqual("PROXY"u8))
        {
            // Byte by byte up to the CRLF, so that nothing after the line is consumed.
            var length = 5;
            while (length < MaxV1Length && !(length >= 2 && buffer[length - 2] == '\r' && buffer[length - 1] == '\n'))
            {
                if (!await FillAsync(stream, buffer.AsMemory(length, 1), cancellationToken).ConfigureAwait(false))
                {
                    return (null, "the connection ended inside the PROXY protocol v1 line");
                }

                length++;
            }

            return ParseV1(buffer.AsSpan(0, length));
        }

        if (!buffer.AsSpan(0, 5).SequenceEqual(V2Signature[..5])
            || !await FillAsync(stream, buffer.AsMemory(5, 11), cancellationToken).ConfigureAwait(false))
        {
            return (null, "no PROXY protocol header: the connection does not start with \"PROXY\" or the v2 signature");
        }

        var addressLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(14));
        if (!await FillAsync(stream, buffer.AsMemory(16, addressLength), cancellationToken).ConfigureAwait(false))
        {
            return (null, "the connection ended inside the PROXY protocol v2 header");
        }

        return ParseV2(buffer.AsSpan(0, 16 + addressLength));
    }

    /// <summary>Parses a complete v1 line (CRLF included).</summary>
    public static (ProxyHeaderInfo? Header, string? Error) ParseV1(ReadOnlySpan<byte> line)
    {
        if (line.Length < 8 || !line.StartsWith("PROXY "u8) || !line.EndsWith("\r\n"u8) || line.Length > MaxV1Length)
        {
            return (null, "the PROXY protocol v1 line does not end with CRLF within 107 bytes");
        }

        var text = Encoding.ASCII.GetString(line[..^2]);
        var fields = text.Split(' ');
        if (fields[1] == "UNKNOWN")
        {
            return (new ProxyHeaderInfo(ProxyProtocolVersion.V1, null, null), null);
        }

        var family = fields[1] switch
        {
            "TCP4" => AddressFamily.InterNetwork,
            "TCP6" => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown || fields.Length != 6)
        {
            return (null, $"the PROXY protocol v1 line '{text}' is not 'PROXY TCP4|TCP6 src dst sport dport'");
        }

        if (!TryAddress(fields[2], family, out var source) || !TryAddress(fields[3], family, out var destination)
            || !TryPort(fields[4], out var sourcePort) || !TryPort(fields[5], out var destinationPort))
        {
            return (null, $"the PROXY protocol v1 line '{text}' has an address or port that is not canonical");
        }

        return (new ProxyHeaderInfo(ProxyProtocolVersion.V1, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort)), null);
    }

    /// <summary>Parses a complete v2 header (16 bytes and the length they announce).</summary>
    public static (ProxyHeaderInfo? Header, string? Error) ParseV2(ReadOnlySpan<byte> header)
    {
        if (header.Length < 16 || !header.StartsWith(V2Signature))
        {
            return (null, "the PROXY protocol v2 signature is wrong");
        }

        var versionCommand = header[12];
        if (versionCommand >> 4 != 2 || (versionCommand & 0xF) > 1)
        {
            return (null, $"the PROXY protocol v2 version/command byte 0x{versionCommand:X2} is not 0x20 (LOCAL) or 0x21 (PROXY)");
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(header[14..]);
        if (header.Length != 16 + length)
        {
            return (null, "the PROXY protocol v2 header is not as long as it says");
        }

        if ((versionCommand & 0xF) == 0)
        {
            return (new ProxyHeaderInfo(ProxyProtocolVersion.V2, null, null), null);
        }

        var block = header[16..];
        var addressLength = header[13] switch
        {
            0x11 => 4,
            0x21 => 16,
            _ => 0,
        };
        if (addressLength == 0 || block.Length < (2 * addressLength) + 4)
        {
            return (null, $"the PROXY protocol v2 family 0x{header[13]:X2} is not TCP over IPv4 (0x11) or IPv6 (0x21), or its addresses are short");
        }

        var source = new IPAddress(block[..addressLength]);
        var destination = new IPAddress(block.Slice(addressLength, addressLength));
        var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(block[(2 * addressLength)..]);
        var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(block[((2 * addressLength) + 2)..]);
        return (new ProxyHeaderInfo(ProxyProtocolVersion.V2, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort)), null);
    }

    private static bool TryAddress(string text, AddressFamily family, out IPAddress address) =>
        IPAddress.TryParse(text, out address!)
        && address.AddressFamily == family
        && (family == AddressFamily.InterNetworkV6 || address.ToString() == text);

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port)
        && port <= ushort.MaxValue
        && port.ToString(CultureInfo.InvariantCulture) == text;

    private static async Task<bool> FillAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }
}
