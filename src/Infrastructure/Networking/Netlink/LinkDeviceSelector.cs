using System.Net;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>The chosen device, or none (<see cref="DeviceName"/> null); the reason says why, in words for the log.</summary>
internal sealed record LinkDeviceSelection(string? DeviceName, string Reason);

/// <summary>
/// Picks the device that carries load-balancer addresses when none is configured: the one that reaches the rest of
/// the network, i.e. the device of the default route (IPv4 first). Container and bridge plumbing is never chosen,
/// because an address there is not reachable from outside the node.
/// </summary>
internal static class LinkDeviceSelector
{
    private static readonly string[] SkippedPrefixes = ["docker", "veth", "br-", "cni", "flannel"];

    public static bool IsSkipped(NetlinkLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        return link.IsLoopback
            || link.Name == "lo"
            || SkippedPrefixes.Any(prefix => link.Name.StartsWith(prefix, StringComparison.Ordinal));
    }

    public static LinkDeviceSelection Select(
        IReadOnlyList<NetlinkLink> links, IReadOnlyList<NetlinkAddress> addresses, IReadOnlyList<NetlinkRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(links);
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(routes);
        var byIndex = links.ToDictionary(link => link.Index);

        var defaults = routes
            .Where(route => route.IsDefault && route.OutputInterface is { } index && byIndex.ContainsKey(index))
            .Select(route => (Route: route, Link: byIndex[route.OutputInterface!.Value]))
            .OrderBy(candidate => candidate.Route.Family == Rtnetlink.AF_INET ? 0 : 1)
            // Physical devices have no link kind; a default route through a virtual device (a bond or VLAN is
            // fine, a tunnel less so) comes after one through a real NIC.
            .ThenBy(candidate => candidate.Link.Kind is null ? 0 : 1)
            .ThenBy(candidate => candidate.Route.Metric)
            .ToList();

        foreach (var (route, link) in defaults)
        {
            if (!IsSkipped(link))
            {
                return new LinkDeviceSelection(link.Name, $"{link.Name}: the device of the {Describe(route)}");
            }
        }

        var fallback = links
            .Where(link => link.IsUp && !IsSkipped(link))
            .Where(link => addresses.Any(address => address.InterfaceIndex == link.Index && address.Scope == Rtnetlink.RT_SCOPE_UNIVERSE))
            .OrderBy(link => link.Kind is null ? 0 : 1)
            .ThenBy(link => link.Index)
            .FirstOrDefault();
        var why = defaults.Count == 0
            ? "there is no default route"
            : $"the default route's device {defaults[0].Link.Name} is container or bridge plumbing";
        return fallback is null
            ? new LinkDeviceSelection(null, $"no link device found: {why}, and no other device is up with a global address")
            : new LinkDeviceSelection(fallback.Name, $"{fallback.Name}: {why}; {fallback.Name} is the first device that is up with a global address");
    }

    private static string Describe(NetlinkRoute route)
    {
        var family = route.Family == Rtnetlink.AF_INET6 ? "IPv6 default route" : "default route";
        return route.Gateway is { } gateway && !gateway.Equals(IPAddress.Any) && !gateway.Equals(IPAddress.IPv6Any)
            ? $"{family} via {gateway}"
            : family;
    }
}
