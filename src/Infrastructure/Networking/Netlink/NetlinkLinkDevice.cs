using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Networking.Announcements;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>
/// The link device over rtnetlink: load-balancer addresses go on a real interface, with the prefix of the device's
/// route that covers them. Everything the user or the host can cause (a missing device, no CAP_NET_ADMIN, a kernel
/// refusal) is a failed <see cref="LinkOperationResult"/> with the reason; nothing here throws for it.
/// </summary>
/// <remarks>
/// The netlink socket is opened in the constructor, so the device works in the network namespace of the thread that
/// built it (tests build it inside a namespace they own). Operations are serialised: each is a few short kernel round
/// trips, and serialising them keeps the check-then-change steps (is the address there? with which prefix?) whole.
/// </remarks>
internal sealed class NetlinkLinkDevice : ILinkDevice, IDisposable
{
    private readonly ILogger _logger;
    private readonly LinkMetrics _metrics;
    private readonly NetlinkSocket? _socket;
    private readonly string? _unavailable;
    private readonly Lock _operations = new();
    private NetlinkAddressMonitor? _monitor;
    private readonly IAddressAnnouncer _announcer;
    private readonly CancellationTokenSource _stopping = new();

    // The addresses this process was asked to hold and the prefix each has on the device, kept for the monitor: it
    // puts an address back exactly as it was, even when the route that gave the prefix is gone at that moment (a
    // device coming up again before the node's own address is back).
    private readonly ConcurrentDictionary<IPAddress, int> _held = new();

    public NetlinkLinkDevice(LinkDeviceOptions options, LinkMetrics metrics, ILogger<NetlinkLinkDevice> logger, IAddressAnnouncer? announcer = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _metrics = metrics;
        _announcer = announcer ?? NoAnnouncer.Instance;
        try
        {
            _socket = NetlinkSocket.Open();
        }
        catch (InvalidOperationException e)
        {
            _unavailable = $"rtnetlink is not available: {e.Message}";
            NetlinkLog.NoDevice(_logger, _unavailable);
            Name = options.DeviceName ?? "(none)";
            return;
        }

        if (!string.IsNullOrEmpty(options.DeviceName))
        {
            Name = options.DeviceName;
            NetlinkLog.DeviceConfigured(_logger, Name);
            Serve(options);
            return;
        }

        var selection = Detect(_socket);
        if (selection.DeviceName is null)
        {
            _unavailable = selection.Reason;
            Name = "(none)";
            NetlinkLog.NoDevice(_logger, selection.Reason);
            return;
        }

        Name = selection.DeviceName;
        Selection = selection;
        NetlinkLog.DeviceSelected(_logger, Name, selection.Reason);
        Serve(options);
    }

    public string Name { get; }

    /// <summary>How the device was detected; null when it was configured.</summary>
    public LinkDeviceSelection? Selection { get; }

    /// <summary>The addresses this process currently holds on the device.</summary>
    public IReadOnlyCollection<IPAddress> HeldAddresses => [.. _held.Keys];

    public ValueTask<LinkOperationResult> AddAddressAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        cancellationToken.ThrowIfCancellationRequested();
        address = Normalize(address);
        LinkOperationResult result;
        bool added;
        int linkIndex;
        lock (_operations)
        {
            result = Add(address, null, out added, out var prefixLength, out linkIndex);
            if (result.Succeeded)
            {
                _held[address] = prefixLength;
            }
        }

        if (!result.Succeeded)
        {
            NetlinkLog.OperationFailed(_logger, result.Error!);
        }
        else if (added)
        {
            Announce(linkIndex, address);
        }

        return ValueTask.FromResult(result);
    }

    public ValueTask<LinkOperationResult> RemoveAddressAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        cancellationToken.ThrowIfCancellationRequested();
        address = Normalize(address);
        // Forgotten first, so a monitor never puts back an address that is on its way out.
        _held.TryRemove(address, out _);
        LinkOperationResult result;
        lock (_operations)
        {
            result = Remove(address);
        }

        if (!result.Succeeded)
        {
            NetlinkLog.OperationFailed(_logger, result.Error!);
        }

        return ValueTask.FromResult(result);
    }

    public ValueTask<IReadOnlyList<IPAddress>> ListAddressesAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_operations)
        {
            var link = FindLink(out var failure);
            if (link is null)
            {
                NetlinkLog.OperationFailed(_logger, failure!);
                return ValueTask.FromResult<IReadOnlyList<IPAddress>>([]);
            }

            var addresses = NetlinkQueries.ListAddresses(_socket!, link.Index);
            if (!addresses.Succeeded)
            {
                NetlinkLog.OperationFailed(_logger, $"listing the addresses of {Name} failed: {addresses.Reply.Describe()}");
                return ValueTask.FromResult<IReadOnlyList<IPAddress>>([]);
            }

            return ValueTask.FromResult<IReadOnlyList<IPAddress>>([.. addresses.Items.Select(item => item.Address).Distinct()]);
        }
    }

    public void Dispose()
    {
        // The monitor first, so it cannot ask for a restore through a closed socket.
        _monitor?.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
        _socket?.Dispose();
    }

    /// <summary>Puts back every held address that is missing from the device; the monitor calls this.</summary>
    internal void Restore(string reason)
    {
        foreach (var (address, heldPrefix) in _held)
        {
            LinkOperationResult result;
            bool added;
            int linkIndex;
            lock (_operations)
            {
                // Checked again under the lock: a remove that raced with the notification wins.
                if (!_held.ContainsKey(address))
                {
                    continue;
                }

                result = Add(address, heldPrefix, out added, out _, out linkIndex);
            }

            if (!result.Succeeded)
            {
                NetlinkLog.RestoreFailed(_logger, address, Name, reason, result.Error!);
            }
            else if (added)
            {
                NetlinkLog.AddressRestored(_logger, address, heldPrefix, Name, reason);
                _metrics.Restored(Name);
                Announce(linkIndex, address);
            }
        }
    }

    /// <summary>Turns a kernel refusal into the reason the operator reads.</summary>
    internal static string DescribeFailure(string verb, IPAddress address, string preposition, string device, NetlinkReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var text = reply.Errno == NetlinkNative.EPERM
            ? $"not permitted: CAP_NET_ADMIN is needed to {verb} {address} {preposition} {device}"
            : $"could not {verb} {address} {preposition} {device}: {reply.Describe()}";
        return reply.Errno == NetlinkNative.EPERM && reply.KernelMessage is not null ? $"{text}; kernel: {reply.KernelMessage}" : text;
    }

    /// <summary>
    /// The device is named: its held addresses are reported from now on, and put back when they go. Without rtnetlink or
    /// a device to detect, nothing is reported rather than a series for "(none)", which can never hold an address.
    /// </summary>
    private void Serve(LinkDeviceOptions options)
    {
        _metrics.ObserveHeld(Name, () => _held.Count);
        StartMonitor(options);
    }

    private void StartMonitor(LinkDeviceOptions options)
    {
        if (!options.RestoreRemovedAddresses)
        {
            return;
        }

        try
        {
            _monitor = new NetlinkAddressMonitor(Name, CurrentLink, address => _held.ContainsKey(address), Restore, _logger);
        }
        catch (InvalidOperationException e)
        {
            // Without notifications the addresses still work; they are just not put back when someone removes them.
            NetlinkLog.MonitorFailed(_logger, e, Name);
        }
    }

    private NetlinkLink? CurrentLink()
    {
        lock (_operations)
        {
            var found = NetlinkQueries.GetLink(_socket!, Name).Items;
            return found.Count == 1 ? found[0] : null;
        }
    }

    private static LinkDeviceSelection Detect(NetlinkSocket socket)
    {
        var links = NetlinkQueries.ListLinks(socket);
        var addresses = NetlinkQueries.ListAddresses(socket);
        var routes = NetlinkQueries.ListMainRoutes(socket);
        foreach (var reply in (ReadOnlySpan<NetlinkReply>)[links.Reply, addresses.Reply, routes.Reply])
        {
            if (!reply.Succeeded)
            {
                return new LinkDeviceSelection(null, $"no link device found: reading links, addresses and routes failed: {reply.Describe()}");
            }
        }

        return LinkDeviceSelector.Select(links.Items, addresses.Items, routes.Items);
    }

    /// <summary>Neighbours learn the new address at once; best effort and in the background (it takes Count × Interval).</summary>
    private void Announce(int linkIndex, IPAddress address) =>
        _ = _announcer.AnnounceAsync(linkIndex, Name, address, _stopping.Token).AsTask();

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static byte FamilyOf(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? Rtnetlink.AF_INET6 : Rtnetlink.AF_INET;

    /// <summary>Adds the address unless present; the prefix is the given one, else derived from the routes.</summary>
    private LinkOperationResult Add(IPAddress address, int? knownPrefix, out bool added, out int prefixLength, out int linkIndex)
    {
        added = false;
        prefixLength = 0;
        linkIndex = 0;
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            return LinkOperationResult.Failed($"{address} is neither an IPv4 nor an IPv6 address");
        }

        var link = FindLink(out var failure);
        if (link is null)
        {
            return LinkOperationResult.Failed(failure!);
        }

        linkIndex = link.Index;

        // Present with any prefix counts: the kernel would accept the same address again under another prefix (a
        // second entry), which is never what the caller means.
        var present = NetlinkQueries.ListAddresses(_socket!, link.Index);
        if (!present.Succeeded)
        {
            return LinkOperationResult.Failed($"could not list the addresses of {Name}: {present.Reply.Describe()}");
        }

        if (present.Items.FirstOrDefault(item => item.Address.Equals(address)) is { } existing)
        {
            prefixLength = existing.PrefixLength;
            NetlinkLog.AddressAlreadyPresent(_logger, address, Name);
            return LinkOperationResult.Success;
        }

        AddressPrefix prefix;
        IReadOnlyList<NetlinkRoute> routes = [];
        if (knownPrefix is { } known)
        {
            prefix = new AddressPrefix(known, null);
        }
        else
        {
            var listed = NetlinkQueries.ListMainRoutes(_socket!);
            if (!listed.Succeeded)
            {
                return LinkOperationResult.Failed($"could not read the routes to derive the prefix of {address}: {listed.Reply.Describe()}");
            }

            routes = listed.Items;
            prefix = AddressPrefix.Derive(address, link.Index, routes);
        }

        prefixLength = prefix.PrefixLength;
        var request = NetlinkRequest.ForAddresses(
                Rtnetlink.RTM_NEWADDR,
                Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_ACK | Rtnetlink.NLM_F_CREATE | Rtnetlink.NLM_F_EXCL,
                FamilyOf(address),
                (byte)prefix.PrefixLength,
                link.Index)
            .AddAttribute(Rtnetlink.IFA_LOCAL, address)
            .AddAttribute(Rtnetlink.IFA_ADDRESS, address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // Without NODAD a new IPv6 address stays tentative for about a second of duplicate address detection,
            // and a listener binding it meanwhile fails with EADDRNOTAVAIL. The allocator already guarantees the
            // address is ours alone in the pool, so the check buys nothing here.
            request.AddAttribute(Rtnetlink.IFA_FLAGS, Rtnetlink.IFA_F_NODAD);
        }

        var reply = _socket!.Send(request);
        if (reply.Errno == NetlinkNative.EEXIST)
        {
            // Someone added it between the listing and the request: present is what was asked for.
            NetlinkLog.AddressAlreadyPresent(_logger, address, Name);
            return LinkOperationResult.Success;
        }

        if (!reply.Succeeded)
        {
            return LinkOperationResult.Failed(DescribeFailure("add", address, "to", Name, reply));
        }

        added = true;
        if (knownPrefix is not null)
        {
            // A restore: the caller logs it, with the reason.
            return LinkOperationResult.Success;
        }

        if (prefix.Route is { } route)
        {
            NetlinkLog.AddressAdded(_logger, address, prefix.PrefixLength, Name, route.Destination, route.PrefixLength);
        }
        else
        {
            NetlinkLog.AddressAddedAsHost(_logger, address, prefix.PrefixLength, Name);
            if (AddressPrefix.ElsewhereCovering(address, link.Index, routes) is { OutputInterface: { } other } elsewhere)
            {
                NetlinkLog.AddressInOtherSubnet(_logger, address, elsewhere.Destination, elsewhere.PrefixLength, DeviceName(other), Name);
            }
        }

        return LinkOperationResult.Success;
    }

    private LinkOperationResult Remove(IPAddress address)
    {
        var link = FindLink(out var failure);
        if (link is null)
        {
            return LinkOperationResult.Failed(failure!);
        }

        var present = NetlinkQueries.ListAddresses(_socket!, link.Index);
        if (!present.Succeeded)
        {
            return LinkOperationResult.Failed($"could not list the addresses of {Name}: {present.Reply.Describe()}");
        }

        var entries = present.Items.Where(item => item.Address.Equals(address)).ToList();
        if (entries.Count == 0)
        {
            NetlinkLog.AddressAlreadyAbsent(_logger, address, Name);
            return LinkOperationResult.Success;
        }

        foreach (var entry in entries)
        {
            // The kernel deletes an address by address and prefix length together, hence the lookup above.
            var request = NetlinkRequest.ForAddresses(
                    Rtnetlink.RTM_DELADDR,
                    Rtnetlink.NLM_F_REQUEST | Rtnetlink.NLM_F_ACK,
                    FamilyOf(address),
                    (byte)entry.PrefixLength,
                    link.Index)
                .AddAttribute(Rtnetlink.IFA_LOCAL, address)
                .AddAttribute(Rtnetlink.IFA_ADDRESS, address);
            var reply = _socket!.Send(request);
            if (reply.Errno == NetlinkNative.EADDRNOTAVAIL)
            {
                // Removed by someone else since the listing: gone is what was asked for.
                continue;
            }

            if (!reply.Succeeded)
            {
                return LinkOperationResult.Failed(DescribeFailure("remove", address, "from", Name, reply));
            }

            NetlinkLog.AddressRemoved(_logger, address, entry.PrefixLength, Name);
        }

        return LinkOperationResult.Success;
    }

    private NetlinkLink? FindLink(out string? failure)
    {
        if (_socket is null || _unavailable is not null)
        {
            failure = _unavailable;
            return null;
        }

        var result = NetlinkQueries.GetLink(_socket, Name);
        if (result.Items.Count == 1)
        {
            failure = null;
            return result.Items[0];
        }

        failure = result.Reply.Errno is NetlinkNative.ENODEV or 0
            ? $"link device '{Name}' does not exist"
            : $"could not look up link device '{Name}': {result.Reply.Describe()}";
        return null;
    }

    private string DeviceName(int index)
    {
        var links = NetlinkQueries.ListLinks(_socket!);
        return links.Items.FirstOrDefault(link => link.Index == index)?.Name ?? $"device #{index}";
    }
}
