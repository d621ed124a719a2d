using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>A network device as RTM_NEWLINK describes it. <see cref="Kind"/> is null for physical devices.</summary>
internal sealed record NetlinkLink
{
    public required int Index { get; init; }

    public required string Name { get; init; }

    public uint Flags { get; init; }

    public string? Kind { get; init; }

    public PhysicalAddress? HardwareAddress { get; init; }

    public bool IsUp => (Flags & Rtnetlink.IFF_UP) != 0;

    /// <summary>The carrier is there (IFF_LOWER_UP): a cable, or the other end of a veth, is up.</summary>
    public bool HasCarrier => (Flags & Rtnetlink.IFF_LOWER_UP) != 0;

    public bool IsLoopback => (Flags & Rtnetlink.IFF_LOOPBACK) != 0;

    public static NetlinkLink? Parse(NetlinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ReadOnlySpan<byte> payload = message.Payload;
        if ((message.Type != Rtnetlink.RTM_NEWLINK && message.Type != Rtnetlink.RTM_DELLINK) || payload.Length < 16)
        {
            return null;
        }

        var index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        string? name = null;
        string? kind = null;
        PhysicalAddress? hardwareAddress = null;
        foreach (var attribute in new AttributeReader(payload[16..]))
        {
            switch (attribute.Type)
            {
                case Rtnetlink.IFLA_IFNAME:
                    name = NetlinkMessage.ReadString(attribute.Value);
                    break;
                case Rtnetlink.IFLA_ADDRESS:
                    hardwareAddress = new PhysicalAddress(attribute.Value.ToArray());
                    break;
                case Rtnetlink.IFLA_LINKINFO:
                    foreach (var info in new AttributeReader(attribute.Value))
                    {
                        if (info.Type == Rtnetlink.IFLA_INFO_KIND)
                        {
                            kind = NetlinkMessage.ReadString(info.Value);
                        }
                    }

                    break;
            }
        }

        return name is null
            ? null
            : new NetlinkLink { Index = index, Name = name, Flags = flags, Kind = kind, HardwareAddress = hardwareAddress };
    }
}

/// <summary>An address on a device as RTM_NEWADDR describes it.</summary>
internal sealed record NetlinkAddress
{
    public required int InterfaceIndex { get; init; }

    public required IPAddress Address { get; init; }

    public required int PrefixLength { get; init; }

    public uint Flags { get; init; }

    public byte Scope { get; init; }

    public static NetlinkAddress? Parse(NetlinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ReadOnlySpan<byte> payload = message.Payload;
        if ((message.Type != Rtnetlink.RTM_NEWADDR && message.Type != Rtnetlink.RTM_DELADDR) || payload.Length < 8)
        {
            return null;
        }

        IPAddress? local = null;
        IPAddress? address = null;
        uint flags = payload[2];
        foreach (var attribute in new AttributeReader(payload[8..]))
        {
            switch (attribute.Type)
            {
                case Rtnetlink.IFA_LOCAL:
                    local = ReadAddress(attribute.Value);
                    break;
                case Rtnetlink.IFA_ADDRESS:
                    address = ReadAddress(attribute.Value);
                    break;
                case Rtnetlink.IFA_FLAGS when attribute.Value.Length >= 4:
                    // The 8-bit ifa_flags cannot hold the newer flags; IFA_FLAGS carries all of them when present.
                    flags = BinaryPrimitives.ReadUInt32LittleEndian(attribute.Value);
                    break;
            }
        }

        // IFA_LOCAL is the device's own address; IFA_ADDRESS is the peer on point-to-point links, and the only one
        // IPv6 sends otherwise.
        var own = local ?? address;
        return own is null
            ? null
            : new NetlinkAddress
            {
                InterfaceIndex = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]),
                Address = own,
                PrefixLength = payload[1],
                Flags = flags,
                Scope = payload[3],
            };
    }

    internal static IPAddress? ReadAddress(ReadOnlySpan<byte> value) =>
        value.Length is 4 or 16 ? new IPAddress(value) : null;
}

/// <summary>A route as RTM_NEWROUTE describes it: destination prefix, output device, gateway, table, metric.</summary>
internal sealed record NetlinkRoute
{
    public required byte Family { get; init; }

    /// <summary>The destination network; the unspecified address for a default route.</summary>
    public required IPAddress Destination { get; init; }

    public required int PrefixLength { get; init; }

    public int? OutputInterface { get; init; }

    public IPAddress? Gateway { get; init; }

    public uint Table { get; init; }

    public byte Type { get; init; }

    public uint Metric { get; init; }

    public bool IsDefault => PrefixLength == 0;

    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == Destination.AddressFamily
            && (PrefixLength == 0 || new IPNetwork(Destination, PrefixLength).Contains(address));
    }

    public static NetlinkRoute? Parse(NetlinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ReadOnlySpan<byte> payload = message.Payload;
        if (message.Type != Rtnetlink.RTM_NEWROUTE || payload.Length < 12)
        {
            return null;
        }

        var family = payload[0];
        if (family is not (Rtnetlink.AF_INET or Rtnetlink.AF_INET6))
        {
            return null;
        }

        IPAddress? destination = null;
        IPAddress? gateway = null;
        int? outputInterface = null;
        uint table = payload[4];
        uint metric = 0;
        foreach (var attribute in new AttributeReader(payload[12..]))
        {
            switch (attribute.Type)
            {
                case Rtnetlink.RTA_DST:
                    destination = NetlinkAddress.ReadAddress(attribute.Value);
                    break;
                case Rtnetlink.RTA_GATEWAY:
                    gateway = NetlinkAddress.ReadAddress(attribute.Value);
                    break;
                case Rtnetlink.RTA_OIF when attribute.Value.Length >= 4:
                    outputInterface = BinaryPrimitives.ReadInt32LittleEndian(attribute.Value);
                    break;
                case Rtnetlink.RTA_TABLE when attribute.Value.Length >= 4:
                    // rtm_table is 8 bits; table ids above 255 only fit the attribute.
                    table = BinaryPrimitives.ReadUInt32LittleEndian(attribute.Value);
                    break;
                case Rtnetlink.RTA_PRIORITY when attribute.Value.Length >= 4:
                    metric = BinaryPrimitives.ReadUInt32LittleEndian(attribute.Value);
                    break;
                case Rtnetlink.RTA_MULTIPATH:
                    // An ECMP route names its devices per next hop; the first one stands for the route here.
                    (outputInterface, gateway) = FirstNextHop(attribute.Value, outputInterface, gateway);
                    break;
            }
        }

        var prefixLength = payload[1];
        return new NetlinkRoute
        {
            Family = family,
            Destination = destination ?? (family == Rtnetlink.AF_INET ? IPAddress.Any : IPAddress.IPv6Any),
            PrefixLength = prefixLength,
            OutputInterface = outputInterface,
            Gateway = gateway,
            Table = table,
            Type = payload[7],
            Metric = metric,
        };
    }

    /// <summary>struct rtnexthop: length, flags, hops, device index, then its own attributes (RTA_GATEWAY).</summary>
    private static (int? OutputInterface, IPAddress? Gateway) FirstNextHop(ReadOnlySpan<byte> value, int? outputInterface, IPAddress? gateway)
    {
        if (value.Length < 8)
        {
            return (outputInterface, gateway);
        }

        var length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(value), value.Length);
        var index = BinaryPrimitives.ReadInt32LittleEndian(value[4..]);
        foreach (var attribute in new AttributeReader(value[8..Math.Max(8, (int)length)]))
        {
            if (attribute.Type == Rtnetlink.RTA_GATEWAY)
            {
                gateway ??= NetlinkAddress.ReadAddress(attribute.Value);
            }
        }

        return (outputInterface ?? index, gateway);
    }
}
