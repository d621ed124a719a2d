using System.Net;
using LoadBalancer.Infrastructure.Networking.Netlink;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

public sealed class LinkDeviceSelectorTests
{
    private const uint UpFlags = Rtnetlink.IFF_UP | Rtnetlink.IFF_LOWER_UP;

    private static readonly NetlinkLink Loopback = new() { Index = 1, Name = "lo", Flags = UpFlags | Rtnetlink.IFF_LOOPBACK };
    private static readonly NetlinkLink Eth0 = new() { Index = 2, Name = "eth0", Flags = UpFlags };
    private static readonly NetlinkLink Eth1 = new() { Index = 3, Name = "eth1", Flags = UpFlags };
    private static readonly NetlinkLink Docker0 = new() { Index = 4, Name = "docker0", Flags = UpFlags, Kind = "bridge" };
    private static readonly NetlinkLink Veth = new() { Index = 5, Name = "veth1a2b", Flags = UpFlags, Kind = "veth" };
    private static readonly NetlinkLink Bond0 = new() { Index = 6, Name = "bond0", Flags = UpFlags, Kind = "bond" };

    [Fact]
    public void Select_DefaultRouteOnEth0_ChoosesEth0AndSaysViaWhichGateway()
    {
        var selection = LinkDeviceSelector.Select(
            [Loopback, Eth0, Eth1],
            [Address(Eth0, "192.0.2.5"), Address(Eth1, "198.51.100.5")],
            [DefaultRoute(Eth0, "192.0.2.1"), Route(Eth1, "198.51.100.0", 24)]);

        Assert.Equal("eth0", selection.DeviceName);
        Assert.Equal("eth0: the device of the default route via 192.0.2.1", selection.Reason);
    }

    [Fact]
    public void Select_IPv4AndIPv6DefaultRoutesOnDifferentDevices_PrefersIPv4()
    {
        var selection = LinkDeviceSelector.Select(
            [Loopback, Eth0, Eth1],
            [],
            [DefaultRoute(Eth1, "2001:db8::1"), DefaultRoute(Eth0, "192.0.2.1")]);

        Assert.Equal("eth0", selection.DeviceName);
    }

    [Fact]
    public void Select_OnlyAnIPv6DefaultRoute_ChoosesItsDevice()
    {
        var selection = LinkDeviceSelector.Select([Loopback, Eth1], [], [DefaultRoute(Eth1, "2001:db8::1")]);

        Assert.Equal("eth1", selection.DeviceName);
        Assert.Equal("eth1: the device of the IPv6 default route via 2001:db8::1", selection.Reason);
    }

    [Fact]
    public void Select_TwoDefaultRoutes_PrefersThePhysicalDeviceOverAVirtualOne()
    {
        var selection = LinkDeviceSelector.Select(
            [Loopback, Bond0, Eth1],
            [],
            [DefaultRoute(Bond0, "192.0.2.1", metric: 10), DefaultRoute(Eth1, "198.51.100.1", metric: 100)]);

        Assert.Equal("eth1", selection.DeviceName);
    }

    [Fact]
    public void Select_DefaultRouteThroughDocker_FallsBackToTheFirstUpDeviceWithAnAddress()
    {
        var selection = LinkDeviceSelector.Select(
            [Loopback, Eth0, Eth1, Docker0],
            [Address(Loopback, "127.0.0.1", Rtnetlink.RT_SCOPE_HOST), Address(Eth1, "198.51.100.5"), Address(Docker0, "203.0.113.1")],
            [DefaultRoute(Docker0, "203.0.113.254")]);

        Assert.Equal("eth1", selection.DeviceName);
        Assert.Equal(
            "eth1: the default route's device docker0 is container or bridge plumbing; eth1 is the first device that is up with a global address",
            selection.Reason);
    }

    [Fact]
    public void Select_NoDefaultRoute_SkipsVethAndLoopbackAndDownDevices()
    {
        var down = Eth0 with { Flags = 0 };
        var selection = LinkDeviceSelector.Select(
            [Loopback, down, Veth, Eth1],
            [Address(Loopback, "127.0.0.1", Rtnetlink.RT_SCOPE_HOST), Address(down, "192.0.2.5"), Address(Veth, "203.0.113.2"), Address(Eth1, "198.51.100.5")],
            []);

        Assert.Equal("eth1", selection.DeviceName);
        Assert.StartsWith("eth1: there is no default route;", selection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_OnlyLinkLocalAddresses_FindsNothingAndSaysWhy()
    {
        var selection = LinkDeviceSelector.Select(
            [Loopback, Eth0],
            [Address(Eth0, "fe80::1", Rtnetlink.RT_SCOPE_LINK)],
            []);

        Assert.Null(selection.DeviceName);
        Assert.Equal("no link device found: there is no default route, and no other device is up with a global address", selection.Reason);
    }

    [Theory]
    [InlineData("lo", true)]
    [InlineData("docker0", true)]
    [InlineData("veth12ab", true)]
    [InlineData("br-5f2e", true)]
    [InlineData("cni0", true)]
    [InlineData("flannel.1", true)]
    [InlineData("eth0", false)]
    [InlineData("enp3s0", false)]
    [InlineData("bond0", false)]
    [InlineData("br0", false)]
    public void IsSkipped_ContainerAndBridgePlumbing_ByName(string name, bool skipped) =>
        Assert.Equal(skipped, LinkDeviceSelector.IsSkipped(new NetlinkLink { Index = 9, Name = name }));

    private static NetlinkAddress Address(NetlinkLink link, string address, byte scope = Rtnetlink.RT_SCOPE_UNIVERSE)
    {
        var ip = IPAddress.Parse(address);
        return new NetlinkAddress { InterfaceIndex = link.Index, Address = ip, PrefixLength = AddressPrefix.HostPrefix(ip), Scope = scope };
    }

    private static NetlinkRoute DefaultRoute(NetlinkLink link, string gateway, uint metric = 0)
    {
        var via = IPAddress.Parse(gateway);
        var v6 = via.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        return new NetlinkRoute
        {
            Family = v6 ? Rtnetlink.AF_INET6 : Rtnetlink.AF_INET,
            Destination = v6 ? IPAddress.IPv6Any : IPAddress.Any,
            PrefixLength = 0,
            OutputInterface = link.Index,
            Gateway = via,
            Table = Rtnetlink.RT_TABLE_MAIN,
            Type = Rtnetlink.RTN_UNICAST,
            Metric = metric,
        };
    }

    internal static NetlinkRoute Route(NetlinkLink link, string network, int prefixLength)
    {
        var destination = IPAddress.Parse(network);
        return new NetlinkRoute
        {
            Family = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? Rtnetlink.AF_INET6 : Rtnetlink.AF_INET,
            Destination = destination,
            PrefixLength = prefixLength,
            OutputInterface = link.Index,
            Table = Rtnetlink.RT_TABLE_MAIN,
            Type = Rtnetlink.RTN_UNICAST,
        };
    }
}
