using System.Net;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>The prefix length an address gets on the device, and the route it came from (null: a host prefix).</summary>
internal sealed record AddressPrefix(int PrefixLength, NetlinkRoute? Route)
{
    /// <summary>
    /// The longest non-default route on the device that contains the address gives the prefix, so the address joins
    /// the device's subnet the way the node's own address did; with none, a host prefix (/32, /128) claims only the
    /// address itself and adds no route that could steer other traffic.
    /// </summary>
    public static AddressPrefix Derive(IPAddress address, int deviceIndex, IEnumerable<NetlinkRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(routes);
        var route = routes
            .Where(route => route.OutputInterface == deviceIndex && !route.IsDefault && route.Contains(address))
            .MaxBy(route => route.PrefixLength);
        return route is null ? new AddressPrefix(HostPrefix(address), null) : new AddressPrefix(route.PrefixLength, route);
    }

    /// <summary>A non-default route through another device that contains the address: its subnet lives elsewhere.</summary>
    public static NetlinkRoute? ElsewhereCovering(IPAddress address, int deviceIndex, IEnumerable<NetlinkRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        return routes
            .Where(route => route.OutputInterface != deviceIndex && !route.IsDefault && route.Contains(address))
            .MaxBy(route => route.PrefixLength);
    }

    public static int HostPrefix(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
    }
}
