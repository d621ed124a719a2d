using System.Net;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.ProxyProtocol;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.ProxyProtocol;

/// <summary>The exact bytes of doc/proxy-protocol.txt, worked out by hand from the spec rather than from the encoder.</summary>
public sealed class ProxyHeaderTests
{
    private const string Signature = "0D0A0D0A000D0A515549540A";

    [Fact]
    public void V1_IPv4_IsTheSpecsExampleLine()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V1, EndPoint("192.168.0.1", 56324), EndPoint("192.168.0.11", 443));

        Assert.Equal("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", Encoding.ASCII.GetString(header));
    }

    [Fact]
    public void V1_IPv6_IsCanonicalWithOneDoubleColon()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V1, EndPoint("2001:db8:0:0:0:0:0:1", 1234), EndPoint("2001:0db8::a:0:0:2", 80));

        Assert.Equal("PROXY TCP6 2001:db8::1 2001:db8::a:0:0:2 1234 80\r\n", Encoding.ASCII.GetString(header));
    }

    [Fact]
    public void V1_LongestIPv6Line_Is104BytesAndFits()
    {
        var all = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        var header = ProxyHeader.Create(ProxyProtocolVersion.V1, EndPoint(all, 65535), EndPoint(all, 65535));

        Assert.Equal($"PROXY TCP6 {all} {all} 65535 65535\r\n", Encoding.ASCII.GetString(header));
        Assert.Equal(104, header.Length);
    }

    [Fact]
    public void V1_PortZeroAndSmallNumbers_HaveNoLeadingZeros()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V1, EndPoint("10.0.0.1", 0), EndPoint("10.0.0.2", 8));

        Assert.Equal("PROXY TCP4 10.0.0.1 10.0.0.2 0 8\r\n", Encoding.ASCII.GetString(header));
    }

    [Fact]
    public void V2_IPv4_IsSignatureProxyTcp4TwelveAddressBytes()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V2, EndPoint("192.168.0.1", 56324), EndPoint("192.168.0.11", 443));

        // 0x21 = version 2, PROXY; 0x11 = AF_INET, STREAM; length 12; 56324 = 0xDC04, 443 = 0x01BB.
        Assert.Equal(Signature + "21" + "11" + "000C" + "C0A80001" + "C0A8000B" + "DC04" + "01BB", Convert.ToHexString(header));
    }

    [Fact]
    public void V2_IPv6_IsSignatureProxyTcp6ThirtySixAddressBytes()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V2, EndPoint("2001:db8::1", 1234), EndPoint("fd00::2", 80));

        Assert.Equal(
            Signature + "21" + "21" + "0024"
            + "20010DB8000000000000000000000001"
            + "FD000000000000000000000000000002"
            + "04D2" + "0050",
            Convert.ToHexString(header));
        Assert.Equal(52, header.Length);
    }

    [Theory]
    [InlineData(ProxyProtocolVersion.V1, "PROXY TCP4 10.1.2.3 10.9.8.7 40000 80\r\n")]
    [InlineData(ProxyProtocolVersion.V2, null)]
    public void IPv4MappedIPv6_IsWrittenAsIPv4(ProxyProtocolVersion version, string? expectedLine)
    {
        var header = ProxyHeader.Create(version, EndPoint("::ffff:10.1.2.3", 40000), EndPoint("::ffff:10.9.8.7", 80));

        if (expectedLine is not null)
        {
            Assert.Equal(expectedLine, Encoding.ASCII.GetString(header));
        }
        else
        {
            Assert.Equal(Signature + "2111000C" + "0A010203" + "0A090807" + "9C40" + "0050", Convert.ToHexString(header));
        }
    }

    [Fact]
    public void MixedFamilies_AreBothWrittenAsIPv6()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V1, EndPoint("10.1.2.3", 1), EndPoint("2001:db8::2", 2));

        Assert.Equal("PROXY TCP6 ::ffff:10.1.2.3 2001:db8::2 1 2\r\n", Encoding.ASCII.GetString(header));
    }

    [Fact]
    public void V1_ScopedLinkLocalPeer_IsWrittenWithoutTheScope()
    {
        var header = ProxyHeader.Create(ProxyProtocolVersion.V1, new IPEndPoint(IPAddress.Parse("fe80::1%2"), 5), EndPoint("fe80::2", 6));

        Assert.Equal("PROXY TCP6 fe80::1 fe80::2 5 6\r\n", Encoding.ASCII.GetString(header));
    }

    [Fact]
    public void Local_V2_IsTheLocalCommandWithoutAddresses()
    {
        var header = ProxyHeader.CreateLocal(ProxyProtocolVersion.V2, EndPoint("127.0.0.1", 40000), EndPoint("127.0.0.126", 80));

        // 0x20 = version 2, LOCAL; 0x00 = AF_UNSPEC, UNSPEC; length 0.
        Assert.Equal(Signature + "20" + "00" + "0000", Convert.ToHexString(header));
    }

    [Fact]
    public void Local_V1_IsALineOfTheConnectionsOwnAddresses()
    {
        var header = ProxyHeader.CreateLocal(ProxyProtocolVersion.V1, EndPoint("127.0.0.1", 40000), EndPoint("127.0.0.126", 80));

        Assert.Equal("PROXY TCP4 127.0.0.1 127.0.0.126 40000 80\r\n", Encoding.ASCII.GetString(header));
    }

    [Fact]
    public void None_HasNoHeader()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ProxyHeader.Create(ProxyProtocolVersion.None, EndPoint("10.0.0.1", 1), EndPoint("10.0.0.2", 2)));
    }

    private static IPEndPoint EndPoint(string address, int port) => new(IPAddress.Parse(address), port);
}
