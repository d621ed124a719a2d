namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>The answer to a query: the items, or the failed reply saying why there are none.</summary>
internal sealed record NetlinkQueryResult<T>(IReadOnlyList<T> Items, NetlinkReply Reply)
{
    public bool Succeeded => Reply.Succeeded;
}

/// <summary>The rtnetlink reads the link device needs: links, addresses and routes.</summary>
internal static class NetlinkQueries
{
    public static NetlinkQueryResult<NetlinkLink> ListLinks(NetlinkSocket socket) =>
        Collect(socket, NetlinkRequest.ForLinks(Rtnetlink.RTM_GETLINK, Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_DUMP), NetlinkLink.Parse);

    /// <summary>One link by name; ENODEV in the reply when there is no such device.</summary>
    public static NetlinkQueryResult<NetlinkLink> GetLink(NetlinkSocket socket, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var request = NetlinkRequest.ForLinks(Rtnetlink.RTM_GETLINK, Rtnetlink.NLM_F_REQUEST)
            .AddAttribute(Rtnetlink.IFLA_IFNAME, name);
        return Collect(socket, request, NetlinkLink.Parse);
    }

    /// <summary>Addresses of all families, of one device when <paramref name="index"/> is not 0.</summary>
    public static NetlinkQueryResult<NetlinkAddress> ListAddresses(NetlinkSocket socket, int index = 0)
    {
        var request = NetlinkRequest.ForAddresses(
            Rtnetlink.RTM_GETADDR, Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_DUMP, Rtnetlink.AF_UNSPEC, 0, index);
        var result = Collect(socket, request, NetlinkAddress.Parse);
        // Strict checking filters by index in the kernel; without it (old kernels) the filter is applied here.
        return index == 0 ? result : result with { Items = [.. result.Items.Where(address => address.InterfaceIndex == index)] };
    }

    /// <summary>The unicast routes of the main table, both families.</summary>
    public static NetlinkQueryResult<NetlinkRoute> ListMainRoutes(NetlinkSocket socket)
    {
        var routes = new List<NetlinkRoute>();
        foreach (var family in (ReadOnlySpan<byte>)[Rtnetlink.AF_INET, Rtnetlink.AF_INET6])
        {
            var result = Collect(socket, NetlinkRequest.ForRoutes(Rtnetlink.RTM_GETROUTE, Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_DUMP, family), NetlinkRoute.Parse);
            if (!result.Succeeded)
            {
                return result;
            }

            routes.AddRange(result.Items.Where(route => route.Table == Rtnetlink.RT_TABLE_MAIN && route.Type == Rtnetlink.RTN_UNICAST));
        }

        return new NetlinkQueryResult<NetlinkRoute>(routes, new NetlinkReply(0, null, []));
    }

    private static NetlinkQueryResult<T> Collect<T>(NetlinkSocket socket, NetlinkRequest request, Func<NetlinkMessage, T?> parse)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(socket);
        var reply = socket.Send(request);
        if (!reply.Succeeded)
        {
            return new NetlinkQueryResult<T>([], reply);
        }

        var items = new List<T>(reply.Messages.Count);
        foreach (var message in reply.Messages)
        {
            if (parse(message) is { } item)
            {
                items.Add(item);
            }
        }

        return new NetlinkQueryResult<T>(items, reply);
    }
}
