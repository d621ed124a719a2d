using System.Globalization;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Preflight;

/// <summary>The devices of this network namespace, in index order, or why they could not be listed.</summary>
internal sealed record DeviceListing(IReadOnlyList<string> Names, string? Failure, LinkDeviceSelection? Detected = null);

/// <summary>What the checks read from the machine; tests give their own.</summary>
internal interface IPreflightHost
{
    CapabilitySet? EffectiveCapabilities();

    DeviceListing ListDevices();

    /// <summary>net.ipv4.ip_unprivileged_port_start: ports from here up bind without CAP_NET_BIND_SERVICE.</summary>
    int UnprivilegedPortStart();
}

/// <summary>
/// This machine: capabilities from /proc/self/status, devices over rtnetlink (the link device's own queries, in the
/// network namespace of the calling thread), and the auto-detection the link device would make.
/// </summary>
internal sealed class SystemPreflightHost : IPreflightHost
{
    private const int DefaultUnprivilegedPortStart = 1024;

    public CapabilitySet? EffectiveCapabilities() => CapabilitySet.OfThisProcess();

    public DeviceListing ListDevices()
    {
        NetlinkSocket socket;
        try
        {
            socket = NetlinkSocket.Open();
        }
        catch (InvalidOperationException e)
        {
            return FromSysfs($"rtnetlink is not available: {e.Message}");
        }

        using (socket)
        {
            var links = NetlinkQueries.ListLinks(socket);
            if (!links.Succeeded)
            {
                return FromSysfs($"could not list devices: {links.Reply.Describe()}");
            }

            var names = links.Items.OrderBy(link => link.Index).Select(link => link.Name).ToList();
            var addresses = NetlinkQueries.ListAddresses(socket);
            var routes = NetlinkQueries.ListMainRoutes(socket);
            var detected = addresses.Succeeded && routes.Succeeded
                ? LinkDeviceSelector.Select(links.Items, addresses.Items, routes.Items)
                : null;
            return new DeviceListing(names, null, detected);
        }
    }

    public int UnprivilegedPortStart()
    {
        try
        {
            return int.TryParse(File.ReadAllText("/proc/sys/net/ipv4/ip_unprivileged_port_start").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                ? start
                : DefaultUnprivilegedPortStart;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DefaultUnprivilegedPortStart;
        }
    }

    /// <summary>When netlink is refused (a locked-down sandbox), sysfs still names the devices; the failure stays as a note.</summary>
    private static DeviceListing FromSysfs(string netlinkFailure)
    {
        try
        {
            var names = Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
            return new DeviceListing(names, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DeviceListing([], netlinkFailure);
        }
    }
}
