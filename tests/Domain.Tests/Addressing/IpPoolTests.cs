using LoadBalancer.Domain.Addressing;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Addressing;

public sealed class IpPoolTests
{
    [Fact]
    public void Parse_DefaultPool_HandsOutFourteenAddressesWithoutNetworkAndBroadcast()
    {
        var pool = Pool(DefaultPool);

        Assert.Equal((UInt128)14, pool.Size);
        Assert.Equal(["192.168.0.224/28"], pool.Entries);
        Assert.Equal(PoolMembership.NetworkOrBroadcast, pool.Classify(Ip("192.168.0.224")));
        Assert.Equal(PoolMembership.Allocatable, pool.Classify(Ip("192.168.0.225")));
        Assert.Equal(PoolMembership.Allocatable, pool.Classify(Ip("192.168.0.238")));
        Assert.Equal(PoolMembership.NetworkOrBroadcast, pool.Classify(Ip("192.168.0.239")));
        Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip("192.168.0.240")));
        Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip("192.168.0.223")));
    }

    [Theory]
    [InlineData("10.0.0.0/31", "10.0.0.0", "10.0.0.1", 2)]
    [InlineData("10.0.0.7/32", "10.0.0.7", "10.0.0.7", 1)]
    [InlineData("10.0.0.0/30", "10.0.0.1", "10.0.0.2", 2)]
    public void Parse_Ipv4Prefix_ExcludesNetworkAndBroadcastOnlyBelowSlash31(string cidr, string lowest, string highest, int size)
    {
        var pool = Pool(cidr);

        Assert.Equal((UInt128)size, pool.Size);
        Assert.True(pool.Contains(Ip(lowest)));
        Assert.True(pool.Contains(Ip(highest)));
        Assert.Null(pool.CheckAllocatable(Ip(lowest)));
        Assert.Null(pool.CheckAllocatable(Ip(highest)));
    }

    [Fact]
    public void Parse_WholeIpv4Space_HasAllButTwoAddresses()
    {
        var pool = Pool("0.0.0.0/0");

        Assert.Equal((UInt128)uint.MaxValue - 1, pool.Size);
        Assert.False(pool.Contains(Ip("0.0.0.0")));
        Assert.False(pool.Contains(Ip("255.255.255.255")));
        Assert.True(pool.Contains(Ip("255.255.255.254")));
    }

    [Fact]
    public void Parse_Range_IsInclusiveAndKeepsItsEnds()
    {
        var pool = Pool("10.0.0.5 - 10.0.0.9");

        Assert.Equal((UInt128)5, pool.Size);
        Assert.Equal(["10.0.0.5-10.0.0.9"], pool.Entries);
        Assert.True(pool.Contains(Ip("10.0.0.5")));
        Assert.True(pool.Contains(Ip("10.0.0.9")));
        Assert.False(pool.Contains(Ip("10.0.0.4")));
        Assert.False(pool.Contains(Ip("10.0.0.10")));
    }

    [Fact]
    public void Parse_SingleAddress_HandsOutThatAddressOnly()
    {
        var pool = Pool("10.0.0.7");

        Assert.Equal((UInt128)1, pool.Size);
        Assert.Equal(["10.0.0.7"], pool.Entries);
        Assert.True(pool.Contains(Ip("10.0.0.7")));
        Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip("10.0.0.8")));
    }

    [Fact]
    public void Parse_OverlappingEntries_CountsEachAddressOnce()
    {
        // The /29 hands out .1-.6; the range adds .7-.10 and repeats .4-.6.
        var pool = Pool("10.0.0.0/29, 10.0.0.4-10.0.0.10");

        Assert.Equal((UInt128)10, pool.Size);
        Assert.True(pool.Contains(Ip("10.0.0.7")));
        Assert.False(pool.Contains(Ip("10.0.0.0")));
        Assert.Equal(1, pool.AllocatableRanges.Length);
    }

    [Fact]
    public void Parse_AdjacentCidrs_KeepEachNetworkAndBroadcastOut()
    {
        var pool = Pool("10.0.0.0/25, 10.0.0.128/25");

        Assert.Equal((UInt128)252, pool.Size);
        Assert.Equal(PoolMembership.NetworkOrBroadcast, pool.Classify(Ip("10.0.0.127")));
        Assert.Equal(PoolMembership.NetworkOrBroadcast, pool.Classify(Ip("10.0.0.128")));
        Assert.True(pool.Contains(Ip("10.0.0.126")));
        Assert.True(pool.Contains(Ip("10.0.0.129")));
    }

    [Fact]
    public void Parse_Exclusions_AreNeverHandedOutAndReducesSize()
    {
        var pool = Pool(DefaultPool, "192.168.0.230, 192.168.0.232-192.168.0.233, 10.9.9.9");

        Assert.Equal((UInt128)11, pool.Size);
        Assert.Equal(["192.168.0.230", "192.168.0.232-192.168.0.233", "10.9.9.9"], pool.Exclusions);
        Assert.Equal(PoolMembership.Excluded, pool.Classify(Ip("192.168.0.230")));
        Assert.Equal(PoolMembership.Excluded, pool.Classify(Ip("192.168.0.233")));
        Assert.Equal(PoolMembership.Allocatable, pool.Classify(Ip("192.168.0.231")));
        Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip("10.9.9.9")));
        Assert.Equal("IP 192.168.0.232 is excluded from the pool", pool.CheckAllocatable(Ip("192.168.0.232")));
    }

    [Fact]
    public void Parse_ExclusionCoveringThePool_IsAnError()
    {
        var parsed = IpPool.Parse("10.0.0.5-10.0.0.6", "10.0.0.4/30");

        Assert.False(parsed.Succeeded);
        Assert.Null(parsed.Pool);
        Assert.Equal(
            ["pool '10.0.0.5-10.0.0.6' has no usable address once network, broadcast and excluded addresses are removed"],
            parsed.Errors);
    }

    [Fact]
    public void Parse_Ipv6Cidr_HandsOutEveryAddressIncludingTheFirst()
    {
        var pool = Pool("2001:0db8::/120");

        Assert.Equal((UInt128)256, pool.Size);
        Assert.Equal(["2001:db8::/120"], pool.Entries);
        Assert.True(pool.Contains(Ip("2001:db8::")));
        Assert.True(pool.Contains(Ip("2001:db8::ff")));
        Assert.False(pool.Contains(Ip("2001:db8::100")));
    }

    [Fact]
    public void Parse_Ipv6RangeAndIpv4Cidr_FormOneMixedPool()
    {
        var pool = Pool("2001:db8::10-2001:db8::12, 10.0.0.0/30");

        Assert.Equal((UInt128)5, pool.Size);
        Assert.Equal(["2001:db8::10-2001:db8::12", "10.0.0.0/30"], pool.Entries);
        Assert.Equal("2001:db8::10-2001:db8::12, 10.0.0.0/30", pool.ToString());
        Assert.True(pool.Contains(Ip("2001:db8::11")));
        Assert.True(pool.Contains(Ip("10.0.0.2")));
        Assert.False(pool.AllocatableRanges[0].First.IsV6);
        Assert.True(pool.AllocatableRanges[1].First.IsV6);
    }

    [Fact]
    public void Parse_WholeIpv6Space_SaturatesSize()
    {
        var pool = Pool("::/0");

        Assert.Equal(UInt128.MaxValue, pool.Size);
        Assert.True(pool.Contains(Ip("::")));
        Assert.True(pool.Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    [Fact]
    public void Contains_Ipv4MappedIpv6Address_IsTreatedAsIpv4()
    {
        var pool = Pool(DefaultPool);

        Assert.True(pool.Contains(Ip("::ffff:192.168.0.225")));
        Assert.Equal(PoolMembership.NetworkOrBroadcast, pool.Classify(Ip("::ffff:192.168.0.224")));
    }

    [Theory]
    [InlineData("300.1.1.1/24", "pool entry '300.1.1.1/24': invalid IP address: 300.1.1.1")]
    [InlineData("10.1/16", "pool entry '10.1/16': invalid IP address: 10.1")]
    [InlineData("10.0.0.0/33", "pool entry '10.0.0.0/33': prefix length '33' must be a number from 0 to 32")]
    [InlineData("2001:db8::/129", "pool entry '2001:db8::/129': prefix length '129' must be a number from 0 to 128")]
    [InlineData("10.0.0.0/", "pool entry '10.0.0.0/': prefix length '' must be a number from 0 to 32")]
    [InlineData("10.0.0.0/-1", "pool entry '10.0.0.0/-1': prefix length '-1' must be a number from 0 to 32")]
    [InlineData("10.0.0.0/x", "pool entry '10.0.0.0/x': prefix length 'x' must be a number from 0 to 32")]
    [InlineData("10.0.0.0/08", "pool entry '10.0.0.0/08': prefix length '08' must be a number from 0 to 32")]
    [InlineData("10.0.0.1/24", "pool entry '10.0.0.1/24': host bits are set; the network is 10.0.0.0/24")]
    [InlineData("2001:db8::1/120", "pool entry '2001:db8::1/120': host bits are set; the network is 2001:db8::/120")]
    [InlineData("10.0.0.9-10.0.0.5", "pool entry '10.0.0.9-10.0.0.5': the first address 10.0.0.9 is above the last address 10.0.0.5")]
    [InlineData("10.0.0.1-2001:db8::1", "pool entry '10.0.0.1-2001:db8::1': both ends of a range must be of the same address family")]
    [InlineData("10.0.0.x-10.0.0.5", "pool entry '10.0.0.x-10.0.0.5': invalid IP address: 10.0.0.x")]
    [InlineData("10.0.0.1-10.0.0.256", "pool entry '10.0.0.1-10.0.0.256': invalid IP address: 10.0.0.256")]
    [InlineData("pool", "pool entry 'pool': invalid IP address: pool")]
    public void Parse_BadEntry_ReportsEntryAndProblem(string entry, string error)
    {
        var parsed = IpPool.Parse(entry);

        Assert.False(parsed.Succeeded);
        Assert.Null(parsed.Pool);
        Assert.Equal([error], parsed.Errors);
    }

    [Fact]
    public void Parse_SeveralBadEntries_ReportsEveryErrorAtOnce()
    {
        var parsed = IpPool.Parse(
            ["192.168.0.224/28", "300.0.0.0/24", "10.0.0.0/40", "  "],
            ["10.0.0.5-10.0.0.1", "bogus"]);

        Assert.False(parsed.Succeeded);
        Assert.Equal(
            [
                "pool entry '300.0.0.0/24': invalid IP address: 300.0.0.0",
                "pool entry '10.0.0.0/40': prefix length '40' must be a number from 0 to 32",
                "pool entry '': empty entry",
                "excluded entry '10.0.0.5-10.0.0.1': the first address 10.0.0.5 is above the last address 10.0.0.1",
                "excluded entry 'bogus': invalid IP address: bogus",
            ],
            parsed.Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ,")]
    public void Parse_NoEntries_AsksForAtLeastOne(string entries)
    {
        var parsed = IpPool.Parse(entries);

        Assert.Equal(["pool: at least one CIDR or range is required"], parsed.Errors);
    }

    [Fact]
    public void Parse_EmptyEntryInAList_IsNamedAsEmpty()
    {
        var parsed = IpPool.Parse([""]);

        Assert.Equal(["pool entry '': empty entry"], parsed.Errors);
    }

    [Fact]
    public void CheckAllocatable_AddressOutsidePool_NamesTheRange()
    {
        var pool = Pool(DefaultPool);

        Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip("10.0.0.9")));
        Assert.Equal("IP 10.0.0.9 is not in CIDR range 192.168.0.224/28", pool.CheckAllocatable(Ip("10.0.0.9")));
    }

    [Fact]
    public void CheckAllocatable_NetworkAddress_SaysNetworkOrBroadcast()
    {
        var pool = Pool(DefaultPool);

        Assert.Equal("IP 192.168.0.224 is a network or broadcast address", pool.CheckAllocatable(Ip("192.168.0.224")));
        Assert.Equal("IP 192.168.0.239 is a network or broadcast address", pool.CheckAllocatable(Ip("192.168.0.239")));
    }

    [Fact]
    public void CheckAllocatable_AddressOutsideSeveralEntries_ListsThemAll()
    {
        var pool = Pool("192.168.0.224/28, 10.0.0.5-10.0.0.6");

        Assert.Equal("IP 10.0.0.9 is not in CIDR range 192.168.0.224/28, 10.0.0.5-10.0.0.6",
            pool.CheckAllocatable(Ip("10.0.0.9")));
    }

    [Fact]
    public void CheckAllocatable_OtherFamily_IsOutsidePool()
    {
        var pool = Pool(DefaultPool);

        Assert.Equal(PoolMembership.OutsidePool, pool.Classify(Ip("2001:db8::1")));
        Assert.Equal("IP 2001:db8::1 is not in CIDR range 192.168.0.224/28", pool.CheckAllocatable(Ip("2001:db8::1")));
    }

    [Theory]
    [InlineData("[2001:db8::1]")]
    [InlineData("[2001:db8::1]:80")]
    public void Parse_BracketedIpv6Entry_IsAnError(string entry)
    {
        var parsed = IpPool.Parse(entry);

        Assert.Equal([$"pool entry '{entry}': invalid IP address: {entry}"], parsed.Errors);
    }
}
