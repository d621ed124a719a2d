using System.Net;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Tests.Networking.Support;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

public sealed class NetlinkSocketTests
{
    [RootFact]
    public void Queries_InsideANamespace_SeeItsVethLinkAddressesAndRoutes()
    {
        var (left, right) = NetworkNamespace.CreateVethPair("nlq-a", "nlq-b", "192.0.2.1/24", "192.0.2.2/24");
        using (left)
        using (right)
        {
            left.Exec("ip address add 2001:db8::1/64 dev nlq-a nodad && ip route add default via 192.0.2.2");
            using var socket = left.Run(() => NetlinkSocket.Open());

            var links = NetlinkQueries.ListLinks(socket);
            var addresses = NetlinkQueries.ListAddresses(socket);
            var routes = NetlinkQueries.ListMainRoutes(socket);

            Assert.True(links.Succeeded, links.Reply.Describe());
            var veth = Assert.Single(links.Items, link => link.Name == "nlq-a");
            Assert.Equal("veth", veth.Kind);
            Assert.True(veth.IsUp);
            Assert.True(veth.HasCarrier);
            Assert.Equal(6, veth.HardwareAddress?.GetAddressBytes().Length);
            Assert.Contains(links.Items, link => link.Name == "lo" && link.IsLoopback);

            Assert.True(addresses.Succeeded, addresses.Reply.Describe());
            Assert.Contains(addresses.Items, a => a.InterfaceIndex == veth.Index && a.Address.Equals(IPAddress.Parse("192.0.2.1")) && a.PrefixLength == 24);
            Assert.Contains(addresses.Items, a => a.InterfaceIndex == veth.Index && a.Address.Equals(IPAddress.Parse("2001:db8::1")) && a.PrefixLength == 64);

            Assert.True(routes.Succeeded, routes.Reply.Describe());
            var defaultRoute = Assert.Single(routes.Items, route => route.IsDefault);
            Assert.Equal(IPAddress.Parse("192.0.2.2"), defaultRoute.Gateway);
            Assert.Equal(veth.Index, defaultRoute.OutputInterface);
            Assert.Contains(routes.Items, r => r.OutputInterface == veth.Index && r.PrefixLength == 24 && r.Destination.Equals(IPAddress.Parse("192.0.2.0")));
            Assert.Contains(routes.Items, r => r.OutputInterface == veth.Index && r.PrefixLength == 64 && r.Destination.Equals(IPAddress.Parse("2001:db8::")));
        }
    }

    [RootFact]
    public void ListAddresses_OfOneDevice_LeavesOthersOut()
    {
        var (left, right) = NetworkNamespace.CreateVethPair("nlq-c", "nlq-d", "198.51.100.1/24", null);
        using (left)
        using (right)
        {
            using var socket = left.Run(() => NetlinkSocket.Open());
            var veth = Assert.Single(NetlinkQueries.GetLink(socket, "nlq-c").Items);

            var addresses = NetlinkQueries.ListAddresses(socket, veth.Index);

            Assert.All(addresses.Items, address => Assert.Equal(veth.Index, address.InterfaceIndex));
            Assert.Contains(addresses.Items, address => address.Address.Equals(IPAddress.Parse("198.51.100.1")));
            Assert.DoesNotContain(addresses.Items, address => IPAddress.IsLoopback(address.Address));
        }
    }

    [RootFact]
    public void GetLink_MissingDevice_AnswersENODEV()
    {
        using var space = NetworkNamespace.Create();
        using var socket = space.Run(() => NetlinkSocket.Open());

        var result = NetlinkQueries.GetLink(socket, "eth9");

        Assert.False(result.Succeeded);
        Assert.Equal(NetlinkNative.ENODEV, result.Reply.Errno);
        Assert.Empty(result.Items);
    }

    [RootFact]
    public void Send_RequestTheKernelRefuses_CarriesTheExtendedAckText()
    {
        using var space = NetworkNamespace.Create();
        using var socket = space.Run(() => NetlinkSocket.Open());
        // Strict checking refuses an address dump whose header sets a prefix length, and says why.
        var request = NetlinkRequest.ForAddresses(Rtnetlink.RTM_GETADDR, Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_DUMP, Rtnetlink.AF_INET, 24, 0);

        var reply = socket.Send(request);

        Assert.Equal(22, reply.Errno);
        Assert.NotNull(reply.KernelMessage);
        Assert.Contains(reply.KernelMessage, reply.Describe(), StringComparison.Ordinal);
    }

    [RootFact]
    public void Send_ManyRequests_EachGetsItsOwnAnswer()
    {
        using var space = NetworkNamespace.Create();
        using var socket = space.Run(() => NetlinkSocket.Open());

        for (var i = 0; i < 50; i++)
        {
            var links = NetlinkQueries.ListLinks(socket);
            Assert.True(links.Succeeded, links.Reply.Describe());
            Assert.Equal("lo", Assert.Single(links.Items).Name);
        }
    }
}
