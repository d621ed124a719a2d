using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>
/// Builds one request: the netlink header, the family header (ifinfomsg, ifaddrmsg, rtmsg) and attributes, each
/// padded to 4 bytes. The length and sequence number are written when the socket sends it.
/// </summary>
internal sealed class NetlinkRequest
{
    private byte[] _buffer = new byte[128];
    private int _length = Rtnetlink.HeaderLength;

    public NetlinkRequest(ushort type, ushort flags)
    {
        Type = type;
        Flags = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(6), flags);
    }

    public ushort Type { get; }

    public ushort Flags { get; }

    public int Length => _length;

    /// <summary>struct ifinfomsg: family, padding, device type, index, flags, change mask.</summary>
    public static NetlinkRequest ForLinks(ushort type, ushort flags, int index = 0)
    {
        var request = new NetlinkRequest(type, flags);
        Span<byte> header = stackalloc byte[16];
        header.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], index);
        request.Append(header);
        return request;
    }

    /// <summary>struct ifaddrmsg: family, prefix length, flags (the low 8; IFA_FLAGS carries all), scope, index.</summary>
    public static NetlinkRequest ForAddresses(ushort type, ushort flags, byte family, byte prefixLength, int index)
    {
        var request = new NetlinkRequest(type, flags);
        Span<byte> header = stackalloc byte[8];
        header.Clear();
        header[0] = family;
        header[1] = prefixLength;
        header[3] = Rtnetlink.RT_SCOPE_UNIVERSE;
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], index);
        request.Append(header);
        return request;
    }

    /// <summary>struct rtmsg: family, dst/src length, tos, table, protocol, scope, type, flags.</summary>
    public static NetlinkRequest ForRoutes(ushort type, ushort flags, byte family)
    {
        var request = new NetlinkRequest(type, flags);
        Span<byte> header = stackalloc byte[12];
        header.Clear();
        header[0] = family;
        request.Append(header);
        return request;
    }

    public NetlinkRequest AddAttribute(ushort type, ReadOnlySpan<byte> value)
    {
        var length = Rtnetlink.AttributeHeaderLength + value.Length;
        var start = Reserve(Rtnetlink.Align(length));
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start + 2), type);
        value.CopyTo(_buffer.AsSpan(start + Rtnetlink.AttributeHeaderLength));
        return this;
    }

    public NetlinkRequest AddAttribute(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return AddAttribute(type, bytes);
    }

    public NetlinkRequest AddAttribute(ushort type, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return AddAttribute(type, bytes[..written]);
    }

    /// <summary>A NUL-terminated string attribute, as the kernel expects for names.</summary>
    public NetlinkRequest AddAttribute(ushort type, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return AddAttribute(type, bytes);
    }

    /// <summary>The finished message with its length and sequence number; the port id stays 0 so the kernel fills it.</summary>
    public ReadOnlySpan<byte> Complete(uint sequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(8), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(12), 0);
        return _buffer.AsSpan(0, _length);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        var start = Reserve(Rtnetlink.Align(bytes.Length));
        bytes.CopyTo(_buffer.AsSpan(start));
    }

    private int Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        var start = _length;
        _buffer.AsSpan(start, count).Clear();
        _length += count;
        return start;
    }
}
