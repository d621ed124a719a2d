using System.Net;
using LoadBalancer.Infrastructure.Networking.Netlink;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

public sealed class AddressPrefixTests
{
    private static readonly NetlinkLink Eth0 = new() { Index = 2, Name = "eth0" };
    private static readonly NetlinkLink Eth1 = new() { Index = 3, Name = "eth1" };

    private static readonly NetlinkRoute[] Routes =
    [
        LinkDeviceSelectorTests.Route(Eth0, "0.0.0.0", 0),
        LinkDeviceSelectorTests.Route(Eth0, "192.0.2.0", 24),
        LinkDeviceSelectorTests.Route(Eth0, "192.0.2.128", 25),
        LinkDeviceSelectorTests.Route(Eth0, "2001:db8::", 64),
        LinkDeviceSelectorTests.Route(Eth1, "198.51.100.0", 24),
    ];

    [Theory]
    [InlineData("192.0.2.10", 24)]
    [InlineData("192.0.2.200", 25)]
    [InlineData("2001:db8::10", 64)]
    [InlineData("203.0.113.5", 32)]
    [InlineData("2001:db8:1::5", 128)]
    public void Derive_LongestRouteOnTheDevice_OrAHostPrefix(string address, int expected) =>
        Assert.Equal(expected, AddressPrefix.Derive(IPAddress.Parse(address), Eth0.Index, Routes).PrefixLength);

    [Fact]
    public void Derive_RouteOnlyOnAnotherDevice_GivesAHostPrefix_AndElsewhereNamesThatRoute()
    {
        var address = IPAddress.Parse("198.51.100.7");

        var prefix = AddressPrefix.Derive(address, Eth0.Index, Routes);
        var elsewhere = AddressPrefix.ElsewhereCovering(address, Eth0.Index, Routes);

        Assert.Equal(32, prefix.PrefixLength);
        Assert.Null(prefix.Route);
        Assert.Equal(Eth1.Index, elsewhere?.OutputInterface);
    }

    [Fact]
    public void Derive_DefaultRouteAlone_DoesNotCount()
    {
        var prefix = AddressPrefix.Derive(IPAddress.Parse("203.0.113.5"), Eth0.Index, [Routes[0]]);

        Assert.Equal(32, prefix.PrefixLength);
    }
}
