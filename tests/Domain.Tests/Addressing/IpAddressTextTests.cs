using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Domain.Tests.Addressing;

public sealed class IpAddressTextTests
{
    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1")]
    [InlineData("0.0.0.0", "0.0.0.0")]
    [InlineData("255.255.255.255", "255.255.255.255")]
    [InlineData("192.168.0.225", "192.168.0.225")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("2001:0DB8:0000::0001", "2001:db8::1")]
    [InlineData("::", "::")]
    public void TryParse_WellFormedAddress_IsAccepted(string text, string expected)
    {
        Assert.True(IpAddressText.TryParse(text, out var address));
        Assert.Equal(IPAddress.Parse(expected), address);
    }

    [Theory]
    [InlineData("300.1.1.1")]
    [InlineData("10.0.0.256")]
    [InlineData("10.1")]
    [InlineData("10")]
    [InlineData("10.0.0")]
    [InlineData("1.2.3.4.5")]
    [InlineData("10.0.0.1.")]
    [InlineData(".10.0.0.1")]
    [InlineData("10..0.1")]
    [InlineData("010.0.0.1")]
    [InlineData("10.0.0.01")]
    [InlineData("0x0a000001")]
    [InlineData("0x0a.0.0.1")]
    [InlineData("167772161")]
    [InlineData("+10.0.0.1")]
    [InlineData("10.0.0.-1")]
    [InlineData("1000.0.0.1")]
    [InlineData("١٠.0.0.1")]
    [InlineData(" 10.0.0.1")]
    [InlineData("10.0.0.1 ")]
    [InlineData("\t10.0.0.1")]
    [InlineData(" 2001:db8::1")]
    [InlineData("2001:db8::1 ")]
    [InlineData("fe80::1%eth0")]
    [InlineData("fe80::1%2")]
    [InlineData("10.0.0.1:80")]
    [InlineData("10.0.0.1/24")]
    [InlineData("2001:db8::/64")]
    [InlineData("1::2::3")]
    [InlineData("2001:db8::g")]
    [InlineData("::ffff:300.1.1.1")]
    [InlineData("localhost")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void TryParse_MalformedOrLooseText_IsRejected(string? text)
    {
        Assert.False(IpAddressText.TryParse(text, out _));
    }

    [Theory]
    [InlineData("[2001:db8::1]")]
    [InlineData("[2001:db8::1]:80")]
    public void TryParse_BracketedIpv6OrIpv6WithPort_IsRejected(string text)
    {
        // IPAddress.TryParse accepts these (and drops the port); an operator's pool or loadBalancerIP never means them.
        var accepted = IpAddressText.TryParse(text, out var address);

        Assert.False(accepted, $"'{text}' was accepted as {address}");
    }

    [Fact]
    public void TryParse_Rejected_LeavesNoneAddress()
    {
        Assert.False(IpAddressText.TryParse("300.1.1.1", out var address));
        Assert.Equal(IPAddress.None, address);
    }

    [Theory]
    [InlineData("::ffff:10.0.0.1", "10.0.0.1")]
    [InlineData("::ffff:c0a8:e1", "192.168.0.225")]
    public void TryParse_Ipv4MappedIpv6_BecomesIpv4(string text, string expected)
    {
        Assert.True(IpAddressText.TryParse(text, out var address));
        Assert.Equal(AddressFamily.InterNetwork, address.AddressFamily);
        Assert.Equal(expected, address.ToString());
    }

    [Fact]
    public void InvalidAddressMessage_QuotesTheText()
    {
        Assert.Equal("invalid IP address: 300.1.1.1", IpAddressText.InvalidAddressMessage("300.1.1.1"));
    }
}
