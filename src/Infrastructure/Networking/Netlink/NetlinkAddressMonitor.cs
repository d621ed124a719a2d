using System.Net;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>
/// Listens to the kernel's link and address notifications and asks the device to put its addresses back when one of
/// them was removed by someone else (an operator's `ip addr del`, a network manager) or when the device came back up
/// (a down device loses its IPv6 addresses). It never changes anything itself: the device decides what is missing.
/// </summary>
/// <remarks>
/// Its own socket, joined to RTMGRP_LINK and the address groups, is opened in the constructor (the caller's network
/// namespace) and read on a dedicated thread with a one-second receive timeout, so disposal is noticed promptly.
/// </remarks>
internal sealed class NetlinkAddressMonitor : IDisposable
{
    private readonly string _deviceName;
    private readonly Func<IPAddress, bool> _isHeld;
    private readonly Action<string> _reconcile;
    private readonly ILogger _logger;
    private readonly NetlinkSocket _socket;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _deviceIndex;
    private bool _deviceUp;

    public NetlinkAddressMonitor(
        string deviceName, Func<NetlinkLink?> currentLink, Func<IPAddress, bool> isHeld, Action<string> reconcile, ILogger logger)
    {
        _deviceName = deviceName;
        _isHeld = isHeld;
        _reconcile = reconcile;
        _logger = logger;
        _socket = NetlinkSocket.Open(
            Rtnetlink.RTMGRP_LINK | Rtnetlink.RTMGRP_IPV4_IFADDR | Rtnetlink.RTMGRP_IPV6_IFADDR, TimeSpan.FromSeconds(1));
        // The device's state is read after subscribing, so no change falls between the two.
        var device = currentLink();
        _deviceIndex = device?.Index ?? 0;
        _deviceUp = device?.IsUp ?? false;
        _thread = new Thread(Listen) { IsBackground = true, Name = "netlink monitor " + deviceName };
        _thread.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _socket.Dispose();
    }

    /// <summary>What one notification means for the device's addresses: a reason to check them, or null.</summary>
    internal string? Interpret(NetlinkMessage message)
    {
        switch (message.Type)
        {
            case Rtnetlink.RTM_NEWLINK when NetlinkLink.Parse(message) is { } link && link.Name == _deviceName:
                var cameUp = link.IsUp && (!_deviceUp || link.Index != _deviceIndex);
                _deviceIndex = link.Index;
                _deviceUp = link.IsUp;
                return cameUp ? $"{_deviceName} came up" : null;
            case Rtnetlink.RTM_DELLINK when NetlinkLink.Parse(message) is { } link && link.Index == _deviceIndex:
                _deviceUp = false;
                return null;
            case Rtnetlink.RTM_DELADDR when NetlinkAddress.Parse(message) is { } address
                && address.InterfaceIndex == _deviceIndex && _deviceUp && _isHeld(address.Address):
                // While the device is down, putting an address back is pointless; coming up triggers the check.
                return $"{address.Address}/{address.PrefixLength} was removed from {_deviceName} by someone else";
            default:
                return null;
        }
    }

    private void Listen()
    {
        while (!_stopping)
        {
            try
            {
                var reply = _socket.Receive();
                if (reply.Errno == NetlinkNative.ENOBUFS)
                {
                    // The kernel dropped notifications; which ones is unknown, so every address is checked.
                    _reconcile("link notifications were lost (receive buffer full)");
                    continue;
                }

                if (!reply.Succeeded)
                {
                    NetlinkLog.MonitorReceiveFailed(_logger, _deviceName, reply.Describe());
                    Thread.Sleep(TimeSpan.FromSeconds(1));
                    continue;
                }

                foreach (var message in reply.Messages)
                {
                    if (Interpret(message) is { } reason)
                    {
                        _reconcile(reason);
                    }
                }
            }
            catch (ObjectDisposedException) when (_stopping)
            {
                return;
            }
            catch (Exception e) when (e is InvalidDataException or InvalidOperationException)
            {
                // A malformed notification must not end the monitor: the addresses still need watching.
                NetlinkLog.MonitorFailed(_logger, e, _deviceName);
            }
        }
    }
}
