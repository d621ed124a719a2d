using System.Buffers.Binary;
using System.Net;
using System.Text;
using LoadBalancer.Infrastructure.Networking.Netlink;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

public sealed class NetlinkMessageTests
{
    [Fact]
    public void Complete_AddressRequest_HasHeaderFamilyHeaderAndPaddedAttributes()
    {
        var request = NetlinkRequest.ForAddresses(Rtnetlink.RTM_NEWADDR, Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_ACK, Rtnetlink.AF_INET, 24, 7)
            .AddAttribute(Rtnetlink.IFA_LOCAL, IPAddress.Parse("192.0.2.10"))
            .AddAttribute(Rtnetlink.IFA_FLAGS, 0x2u);

        var bytes = request.Complete(42).ToArray();

        Assert.Equal(16 + 8 + 8 + 8, bytes.Length);
        Assert.Equal((uint)bytes.Length, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        Assert.Equal(Rtnetlink.RTM_NEWADDR, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_ACK, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6)));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(new byte[] { Rtnetlink.AF_INET, 24, 0, 0, 7, 0, 0, 0 }, bytes[16..24]);
        Assert.Equal(new byte[] { 8, 0, 2 /* IFA_LOCAL */, 0, 192, 0, 2, 10 }, bytes[24..32]);
        Assert.Equal(new byte[] { 8, 0, 8 /* IFA_FLAGS */, 0, 2, 0, 0, 0 }, bytes[32..40]);
    }

    [Fact]
    public void AddAttribute_String_IsNulTerminatedAndPaddedToFourBytes()
    {
        var bytes = NetlinkRequest.ForLinks(Rtnetlink.RTM_GETLINK, Rtnetlink.NLM_F_REQUEST)
            .AddAttribute(Rtnetlink.IFLA_IFNAME, "eth0")
            .Complete(1).ToArray();

        // 16 header + 16 ifinfomsg + (4 + "eth0\0" = 9, padded to 12).
        Assert.Equal(44, bytes.Length);
        Assert.Equal(9, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(32)));
        Assert.Equal("eth0\0\0\0\0"u8.ToArray(), bytes[36..44]);
    }

    [Fact]
    public void Parse_TwoMessagesInOneDatagram_AreSplitOnAlignedLengths()
    {
        var first = Message(Rtnetlink.RTM_NEWADDR, Rtnetlink.NLM_F_MULTI, 5, [1, 2, 3]);
        var second = Message(Rtnetlink.NLMSG_DONE, Rtnetlink.NLM_F_MULTI, 5, [0, 0, 0, 0]);

        var messages = NetlinkMessage.Parse([.. first, .. second]);

        Assert.Equal(2, messages.Count);
        Assert.Equal([1, 2, 3], messages[0].Payload);
        Assert.Equal(Rtnetlink.NLMSG_DONE, messages[1].Type);
        Assert.Equal(5u, messages[1].Sequence);
    }

    [Fact]
    public void Parse_LengthBeyondDatagram_Throws()
    {
        var datagram = Message(Rtnetlink.RTM_NEWLINK, 0, 1, [1, 2, 3, 4]);
        BinaryPrimitives.WriteUInt32LittleEndian(datagram, 400);

        Assert.Throws<InvalidDataException>(() => NetlinkMessage.Parse(datagram));
    }

    [Fact]
    public void ParseStatus_ErrorWithExtendedAck_GivesErrnoAndKernelText()
    {
        // errno, the echoed request header only (capped), then NLMSGERR_ATTR_MSG.
        var payload = new List<byte>();
        payload.AddRange(BitConverter.GetBytes(-17));
        payload.AddRange(Message(Rtnetlink.RTM_NEWADDR, Rtnetlink.NLM_F_REQUEST, 9, []));
        payload.AddRange(Attribute(Rtnetlink.NLMSGERR_ATTR_MSG, Encoding.UTF8.GetBytes("ipv4: Address already assigned\0")));

        var (errno, message) = NetlinkMessage.ParseStatus([.. payload], Rtnetlink.NLM_F_CAPPED | Rtnetlink.NLM_F_ACK_TLVS, hasEchoedRequest: true);

        Assert.Equal(17, errno);
        Assert.Equal("ipv4: Address already assigned", message);
    }

    [Fact]
    public void ParseStatus_UncappedError_SkipsTheWholeEchoedRequest()
    {
        var payload = new List<byte>();
        payload.AddRange(BitConverter.GetBytes(-22));
        payload.AddRange(Message(Rtnetlink.RTM_GETADDR, Rtnetlink.NLM_F_REQUEST, 9, [10, 24, 0, 0, 0, 0, 0, 0]));
        payload.AddRange(Attribute(Rtnetlink.NLMSGERR_ATTR_MSG, "bad header\0"u8.ToArray()));

        var (errno, message) = NetlinkMessage.ParseStatus([.. payload], Rtnetlink.NLM_F_ACK_TLVS, hasEchoedRequest: true);

        Assert.Equal(22, errno);
        Assert.Equal("bad header", message);
    }

    [Fact]
    public void ParseStatus_Acknowledgement_IsErrnoZeroWithoutText()
    {
        var payload = new List<byte>();
        payload.AddRange(BitConverter.GetBytes(0));
        payload.AddRange(Message(Rtnetlink.RTM_NEWADDR, Rtnetlink.NLM_F_REQUEST, 9, []));

        Assert.Equal((0, (string?)null), NetlinkMessage.ParseStatus([.. payload], Rtnetlink.NLM_F_CAPPED, hasEchoedRequest: true));
    }

    [Fact]
    public void AttributeReader_TruncatedAttribute_StopsInsteadOfReadingPast()
    {
        byte[] attributes = [.. Attribute(Rtnetlink.IFA_LOCAL, [192, 0, 2, 1]), 20, 0, 1, 0, 1];

        var types = new List<ushort>();
        foreach (var attribute in new AttributeReader(attributes))
        {
            types.Add(attribute.Type);
        }

        Assert.Equal([Rtnetlink.IFA_LOCAL], types);
    }

    [Fact]
    public void ParseAddress_IPv4_TakesLocalAndFlagsAttribute()
    {
        byte[] payload =
        [
            Rtnetlink.AF_INET, 24, 0x80, 0, 3, 0, 0, 0,
            .. Attribute(Rtnetlink.IFA_ADDRESS, [192, 0, 2, 10]),
            .. Attribute(Rtnetlink.IFA_LOCAL, [192, 0, 2, 10]),
            .. Attribute(Rtnetlink.IFA_FLAGS, BitConverter.GetBytes(0x281u)),
        ];

        var address = NetlinkAddress.Parse(new NetlinkMessage(Rtnetlink.RTM_NEWADDR, 0, 1, 0, payload));

        Assert.NotNull(address);
        Assert.Equal(IPAddress.Parse("192.0.2.10"), address.Address);
        Assert.Equal(24, address.PrefixLength);
        Assert.Equal(3, address.InterfaceIndex);
        Assert.Equal(0x281u, address.Flags);
    }

    [Fact]
    public void ParseLink_NameKindAndMac_AreRead()
    {
        byte[] payload =
        [
            0, 0, 1, 0, 4, 0, 0, 0, 0x43, 0x10, 0x01, 0, 0, 0, 0, 0,
            .. Attribute(Rtnetlink.IFLA_IFNAME, "veth0\0"u8.ToArray()),
            .. Attribute(Rtnetlink.IFLA_ADDRESS, [2, 0, 0, 0, 0, 1]),
            .. Attribute(Rtnetlink.IFLA_LINKINFO, Attribute(Rtnetlink.IFLA_INFO_KIND, "veth\0"u8.ToArray())),
        ];

        var link = NetlinkLink.Parse(new NetlinkMessage(Rtnetlink.RTM_NEWLINK, 0, 1, 0, payload));

        Assert.NotNull(link);
        Assert.Equal(4, link.Index);
        Assert.Equal("veth0", link.Name);
        Assert.Equal("veth", link.Kind);
        Assert.Equal("020000000001", link.HardwareAddress?.ToString());
        Assert.True(link.IsUp);
        Assert.True(link.HasCarrier);
    }

    [Fact]
    public void ParseRoute_DefaultRouteWithGateway_IsDefaultAndCarriesTableAndDevice()
    {
        byte[] payload =
        [
            Rtnetlink.AF_INET, 0, 0, 0, Rtnetlink.RT_TABLE_MAIN, 3, 0, Rtnetlink.RTN_UNICAST, 0, 0, 0, 0,
            .. Attribute(Rtnetlink.RTA_TABLE, BitConverter.GetBytes(254u)),
            .. Attribute(Rtnetlink.RTA_GATEWAY, [192, 0, 2, 1]),
            .. Attribute(Rtnetlink.RTA_OIF, BitConverter.GetBytes(2)),
        ];

        var route = NetlinkRoute.Parse(new NetlinkMessage(Rtnetlink.RTM_NEWROUTE, 0, 1, 0, payload));

        Assert.NotNull(route);
        Assert.True(route.IsDefault);
        Assert.Equal(IPAddress.Any, route.Destination);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), route.Gateway);
        Assert.Equal(2, route.OutputInterface);
        Assert.Equal(254u, route.Table);
        Assert.True(route.Contains(IPAddress.Parse("203.0.113.5")));
        Assert.False(route.Contains(IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void ParseRoute_Multipath_TakesTheFirstNextHop()
    {
        byte[] hop = [16, 0, 0, 0, 5, 0, 0, 0, .. Attribute(Rtnetlink.RTA_GATEWAY, [198, 51, 100, 1])];
        byte[] payload =
        [
            Rtnetlink.AF_INET, 0, 0, 0, Rtnetlink.RT_TABLE_MAIN, 3, 0, Rtnetlink.RTN_UNICAST, 0, 0, 0, 0,
            .. Attribute(Rtnetlink.RTA_MULTIPATH, hop),
        ];

        var route = NetlinkRoute.Parse(new NetlinkMessage(Rtnetlink.RTM_NEWROUTE, 0, 1, 0, payload));

        Assert.Equal(5, route?.OutputInterface);
        Assert.Equal(IPAddress.Parse("198.51.100.1"), route?.Gateway);
    }

    internal static byte[] Message(ushort type, ushort flags, uint sequence, byte[] payload)
    {
        var bytes = new byte[(16 + payload.Length + 3) & ~3];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)(16 + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), sequence);
        payload.CopyTo(bytes.AsSpan(16));
        return bytes;
    }

    internal static byte[] Attribute(ushort type, byte[] value)
    {
        var bytes = new byte[(4 + value.Length + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), type);
        value.CopyTo(bytes.AsSpan(4));
        return bytes;
    }
}
