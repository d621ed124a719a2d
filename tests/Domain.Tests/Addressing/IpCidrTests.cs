using System.Net;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Domain.Tests.Addressing;

public sealed class IpCidrTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("127.0.0.140/32", "127.0.0.140/32")]
    [InlineData("2001:db8::/32", "2001:db8::/32")]
    [InlineData("::/0", "::/0")]
    [InlineData("::1/128", "::1/128")]
    public void TryParse_ValidCidr_IsTheNetwork(string text, string expected)
    {
        Assert.True(IpCidr.TryParse(text, out var cidr, out var hadHostBits, out var reason), reason);
        Assert.Equal(expected, cidr.ToString());
        Assert.False(hadHostBits);
    }

    [Theory]
    [InlineData("10.1.2.3/8", "10.0.0.0/8")]
    [InlineData("2001:db8::1/32", "2001:db8::/32")]
    public void TryParse_HostBitsSet_IsAcceptedAndCleared_AsKubernetesAcceptsIt(string text, string expected)
    {
        Assert.True(IpCidr.TryParse(text, out var cidr, out var hadHostBits, out _));
        Assert.Equal(expected, cidr.ToString());
        Assert.True(hadHostBits);
    }

    [Theory]
    [InlineData("banana", "a CIDR is an address, '/' and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32")]
    [InlineData("10.0.0.0", "a CIDR is an address, '/' and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32")]
    [InlineData("10.0.0.0/33", "prefix length '33' must be a number from 0 to 32")]
    [InlineData("2001:db8::/129", "prefix length '129' must be a number from 0 to 128")]
    [InlineData("10.0.0.0/", "prefix length '' must be a number from 0 to 32")]
    [InlineData("10.0.0.0/08", "prefix length '08' must be a number from 0 to 32")]
    [InlineData("10.0.0.0/-1", "prefix length '-1' must be a number from 0 to 32")]
    [InlineData("10.0.0/8", "invalid IP address: 10.0.0")]
    [InlineData("010.0.0.0/8", "invalid IP address: 010.0.0.0")]
    [InlineData("::ffff:10.0.0.0/104", "an IPv4-mapped IPv6 prefix is not accepted; write the IPv4 network (10.0.0.0/...)")]
    [InlineData("", "it is empty")]
    public void TryParse_NotACidr_SaysWhy(string text, string why)
    {
        Assert.False(IpCidr.TryParse(text, out _, out _, out var reason));
        Assert.Equal(why, reason);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.255.0.1", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.1.1", true)]
    [InlineData("10.0.0.0/8", "2001:db8::1", false)]
    [InlineData("0.0.0.0/0", "203.0.113.1", true)]
    [InlineData("::/0", "203.0.113.1", false)]
    [InlineData("2001:db8::/127", "2001:db8::1", true)]
    [InlineData("2001:db8::/127", "2001:db8::2", false)]
    public void Contains_ChecksTheFamilyAndThePrefix(string cidr, string address, bool expected)
    {
        Assert.Equal(expected, IpCidr.Parse(cidr).Contains(IPAddress.Parse(address)));
    }

    [Fact]
    public void Parse_Invalid_ThrowsWithTheValueQuoted()
    {
        var failure = Assert.Throws<FormatException>(() => IpCidr.Parse("banana"));
        Assert.StartsWith("'banana' is not a CIDR: ", failure.Message, StringComparison.Ordinal);
    }
}
