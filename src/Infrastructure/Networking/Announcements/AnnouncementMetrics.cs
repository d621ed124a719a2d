using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Common.Telemetry;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>
/// The announcer's frames (gratuitous ARP for IPv4, unsolicited Neighbour Advertisements for IPv6), per device and
/// family, by result: sent, or failed. A frame fails when it could not be sent or no socket could be opened for it on
/// the device; the announcement stops there, so one announcement counts at most one failure. A device that is not
/// Ethernet-like gets no frames and counts none: there is nothing to announce on it, which is no failure.
/// </summary>
internal sealed class AnnouncementMetrics
{
    private readonly Counter<long> _announcements;

    public AnnouncementMetrics(IMeterFactory meters)
    {
        var meter = LoadBalancerMeter.Create(meters);
        _announcements = meter.CreateCounter<long>(
            "littlelb.link.announcements", "{announcement}", "Gratuitous ARP (family=ipv4) and unsolicited Neighbour Advertisement (family=ipv6) frames for addresses added to the link device, by result (sent, failed).");
    }

    public void Sent(string device, IPAddress address) => Add(device, address, "sent");

    public void Failed(string device, IPAddress address) => Add(device, address, "failed");

    private void Add(string device, IPAddress address, string result) =>
        _announcements.Add(
            1,
            new KeyValuePair<string, object?>("device", device),
            new KeyValuePair<string, object?>("family", address.AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4"),
            new KeyValuePair<string, object?>("result", result));
}
