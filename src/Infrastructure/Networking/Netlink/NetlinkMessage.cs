using System.Buffers.Binary;
using System.Text;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>One netlink message as received: the header fields and the payload after the 16-byte header.</summary>
internal sealed record NetlinkMessage(ushort Type, ushort Flags, uint Sequence, uint PortId, byte[] Payload)
{
    /// <summary>
    /// Splits a datagram into its messages. A length that does not fit the datagram means the kernel and this code
    /// disagree about the ABI, which is a bug, not a condition to recover from.
    /// </summary>
    public static IReadOnlyList<NetlinkMessage> Parse(ReadOnlySpan<byte> datagram)
    {
        var messages = new List<NetlinkMessage>();
        while (datagram.Length >= Rtnetlink.HeaderLength)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            if (length < Rtnetlink.HeaderLength || length > datagram.Length)
            {
                throw new InvalidDataException(
                    $"netlink message length {length} does not fit the {datagram.Length} bytes left in the datagram");
            }

            messages.Add(new NetlinkMessage(
                BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]),
                BinaryPrimitives.ReadUInt16LittleEndian(datagram[6..]),
                BinaryPrimitives.ReadUInt32LittleEndian(datagram[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(datagram[12..]),
                datagram[Rtnetlink.HeaderLength..length].ToArray()));
            datagram = datagram[Math.Min(Rtnetlink.Align(length), datagram.Length)..];
        }

        return messages;
    }

    /// <summary>
    /// Reads an NLMSG_ERROR payload (or the status a dump's NLMSG_DONE may carry): the negated errno (0 for an
    /// acknowledgement) and, with NETLINK_EXT_ACK, the kernel's explanation (NLMSGERR_ATTR_MSG).
    /// </summary>
    public static (int Errno, string? Message) ParseStatus(ReadOnlySpan<byte> payload, ushort flags, bool hasEchoedRequest)
    {
        if (payload.Length < 4)
        {
            return (0, null);
        }

        var errno = -BinaryPrimitives.ReadInt32LittleEndian(payload);
        if ((flags & Rtnetlink.NLM_F_ACK_TLVS) == 0)
        {
            return (errno, null);
        }

        var rest = payload[4..];
        if (hasEchoedRequest)
        {
            // NLMSG_ERROR echoes the request's header, and its payload too unless NLM_F_CAPPED says it was left out.
            if (rest.Length < Rtnetlink.HeaderLength)
            {
                return (errno, null);
            }

            var echoed = (flags & Rtnetlink.NLM_F_CAPPED) != 0
                ? Rtnetlink.HeaderLength
                : (int)BinaryPrimitives.ReadUInt32LittleEndian(rest);
            echoed = Math.Min(Rtnetlink.Align(echoed), rest.Length);
            rest = rest[echoed..];
        }

        string? message = null;
        foreach (var attribute in new AttributeReader(rest))
        {
            if (attribute.Type == Rtnetlink.NLMSGERR_ATTR_MSG)
            {
                message = ReadString(attribute.Value);
            }
        }

        return (errno, string.IsNullOrWhiteSpace(message) ? null : message);
    }

    /// <summary>A NUL-terminated attribute string (names, kinds, ext-ack text).</summary>
    public static string ReadString(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
    }
}

/// <summary>One attribute: its type (flags masked off) and its value without padding.</summary>
internal readonly ref struct NetlinkAttribute(ushort type, ReadOnlySpan<byte> value)
{
    public ushort Type { get; } = type;

    public ReadOnlySpan<byte> Value { get; } = value;
}

/// <summary>Walks a run of rtattr/nlattr (length, type, value, padded to 4 bytes), stopping at anything malformed.</summary>
internal ref struct AttributeReader(ReadOnlySpan<byte> attributes)
{
    private ReadOnlySpan<byte> _rest = attributes;

    public NetlinkAttribute Current { get; private set; }

    public readonly AttributeReader GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_rest.Length < Rtnetlink.AttributeHeaderLength)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        if (length < Rtnetlink.AttributeHeaderLength || length > _rest.Length)
        {
            // A truncated attribute ends the walk instead of reading past the message.
            _rest = default;
            return false;
        }

        var type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & Rtnetlink.NLA_TYPE_MASK);
        Current = new NetlinkAttribute(type, _rest[Rtnetlink.AttributeHeaderLength..length]);
        _rest = _rest[Math.Min(Rtnetlink.Align(length), _rest.Length)..];
        return true;
    }
}
