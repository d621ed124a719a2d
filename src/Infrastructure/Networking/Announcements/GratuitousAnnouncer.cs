using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>
/// Announces an address the way a moved or new IP must be announced on a LAN: gratuitous ARP for IPv4, unsolicited
/// Neighbour Advertisements for IPv6, <see cref="AnnouncementOptions.Count"/> times, <see cref="AnnouncementOptions.Interval"/> apart.
/// </summary>
internal sealed class GratuitousAnnouncer : IAddressAnnouncer
{
    private const int ENODEV = 19;
    private static readonly IPAddress AllNodes = IPAddress.Parse("ff02::1");

    private readonly AnnouncementOptions _options;
    private readonly AnnouncementMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<GratuitousAnnouncer> _logger;

    public GratuitousAnnouncer(AnnouncementOptions options, AnnouncementMetrics metrics, TimeProvider time, ILogger<GratuitousAnnouncer> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    public ValueTask AnnounceAsync(int interfaceIndex, string interfaceName, IPAddress address, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(address);
        if (!_options.Enabled || _options.Count <= 0 || ct.IsCancellationRequested)
        {
            return ValueTask.CompletedTask;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        // The sockets are opened here, before the first await, so they belong to the caller's network namespace
        // whatever thread the later sends run on.
        Sender? sender;
        try
        {
            sender = address.AddressFamily switch
            {
                AddressFamily.InterNetwork => OpenArp(interfaceIndex, interfaceName, address),
                AddressFamily.InterNetworkV6 => OpenNeighbourAdvertisement(interfaceIndex, interfaceName, address),
                _ => Unsupported(interfaceName, address),
            };
        }
        catch (Exception e) when (e is SocketException or ArgumentException or IOException)
        {
            AnnouncementLog.Failed(_logger, e, address, interfaceName);
            _metrics.Failed(interfaceName, address);
            return ValueTask.CompletedTask;
        }

        return sender is null ? ValueTask.CompletedTask : RepeatAsync(sender, interfaceIndex, interfaceName, address, ct);
    }

    private async ValueTask RepeatAsync(Sender sender, int interfaceIndex, string interfaceName, IPAddress address, CancellationToken ct)
    {
        using (sender)
        {
            var sent = 0;
            try
            {
                for (var attempt = 1; attempt <= _options.Count; attempt++)
                {
                    if (attempt > 1)
                    {
                        await Task.Delay(_options.Interval, _time, ct).ConfigureAwait(false);
                    }

                    if (sender.Send() is { } error)
                    {
                        AnnouncementLog.SendFailed(_logger, attempt, address, interfaceName, interfaceIndex, error.Code, error.Reason);
                        _metrics.Failed(interfaceName, address);
                        return;
                    }

                    sent++;
                    _metrics.Sent(interfaceName, address);
                }

                AnnouncementLog.Announced(_logger, address, interfaceName, interfaceIndex, sent);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Whoever cancelled no longer wants the address announced (it is being removed, or we are stopping).
                AnnouncementLog.Cancelled(_logger, address, interfaceName, sent);
            }
        }
    }

    private Sender? OpenArp(int interfaceIndex, string interfaceName, IPAddress address)
    {
        if (OpenBoundPacketSocket(interfaceIndex, interfaceName, address, out var mac) is not { } socket)
        {
            return null;
        }

        var frame = AnnouncementFrames.GratuitousArp(mac, address);
        return new Sender(socket, () =>
        {
            var errno = socket.Send(frame, interfaceIndex, PacketSocket.EtherTypeArp, AnnouncementFrames.BroadcastMac);
            return errno == 0 ? null : new SendError(errno, Marshal.GetPInvokeErrorMessage(errno));
        });
    }

    private Sender? OpenNeighbourAdvertisement(int interfaceIndex, string interfaceName, IPAddress address)
    {
        // The packet socket is only needed to learn the device's MAC for the link-layer address option.
        byte[] mac;
        using (var probe = OpenBoundPacketSocket(interfaceIndex, interfaceName, address, out mac))
        {
            if (probe is null)
            {
                return null;
            }
        }

        var message = AnnouncementFrames.UnsolicitedNeighbourAdvertisement(mac, address);
        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
        try
        {
            // 255 is what receivers check to know the advertisement was not routed from elsewhere (RFC 4861 7.1.2).
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 255);
            // The outgoing device is chosen by index, like the ARP path, rather than by a name that may be reused.
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, interfaceIndex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var allNodes = new IPEndPoint(new IPAddress(AllNodes.GetAddressBytes(), interfaceIndex), 0);
        return new Sender(socket, () =>
        {
            try
            {
                socket.SendTo(message, allNodes);
                return null;
            }
            catch (SocketException e)
            {
                return new SendError((int)e.SocketErrorCode, e.Message);
            }
        });
    }

    /// <summary>
    /// A send-only packet socket bound to the device, with the device's MAC. Binding by index answers ENODEV in this
    /// namespace when the device is gone, and getsockname then gives the MAC of exactly that device; reading
    /// /sys/class/net/NAME/address instead would see the namespace sysfs was mounted in and could race a rename.
    /// </summary>
    private PacketSocket? OpenBoundPacketSocket(int interfaceIndex, string interfaceName, IPAddress address, out byte[] mac)
    {
        mac = [];
        var errno = PacketSocket.TryOpen(0, out var socket);
        if (errno != 0)
        {
            socket.Dispose();
            AnnouncementLog.SocketFailed(_logger, address, interfaceName, interfaceIndex, errno, Marshal.GetPInvokeErrorMessage(errno));
            _metrics.Failed(interfaceName, address);
            return null;
        }

        errno = interfaceIndex > 0 ? socket.Bind(interfaceIndex, 0) : ENODEV;
        if (errno == 0)
        {
            errno = socket.GetHardwareAddress(out var hardwareType, out mac);
            if (errno == 0 && (hardwareType != PacketSocket.HardwareTypeEthernet || mac.Length != 6))
            {
                socket.Dispose();
                AnnouncementLog.NotEthernet(_logger, address, interfaceName, hardwareType);
                return null;
            }
        }

        if (errno != 0)
        {
            socket.Dispose();
            AnnouncementLog.DeviceUnavailable(_logger, address, interfaceName, interfaceIndex, errno, Marshal.GetPInvokeErrorMessage(errno));
            _metrics.Failed(interfaceName, address);
            return null;
        }

        return socket;
    }

    private Sender? Unsupported(string interfaceName, IPAddress address)
    {
        AnnouncementLog.UnsupportedFamily(_logger, address, interfaceName);
        return null;
    }

    private readonly record struct SendError(int Code, string Reason);

    /// <summary>An open socket and how to send one announcement on it; disposing closes the socket.</summary>
    private sealed class Sender(IDisposable socket, Func<SendError?> send) : IDisposable
    {
        public SendError? Send() => send();

        public void Dispose() => socket.Dispose();
    }
}
