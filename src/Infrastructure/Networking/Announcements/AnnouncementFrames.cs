using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>The bytes of the two announcements, kept apart from the sockets so they can be checked on their own.</summary>
internal static class AnnouncementFrames
{
    public const int ArpFrameLength = 14 + 28;
    public const int NeighbourAdvertisementLength = 24 + 8;
    public const byte NeighbourAdvertisementType = 136;

    public static ReadOnlySpan<byte> BroadcastMac => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    /// <summary>
    /// A gratuitous ARP in request form (RFC 5227 calls it an ARP Announcement): sender and target IP are both the
    /// address, the target MAC is zero. Requests are chosen over replies because every stack processes a broadcast
    /// request, while some ignore unsolicited replies.
    /// </summary>
    public static byte[] GratuitousArp(ReadOnlySpan<byte> senderMac, IPAddress address)
    {
        if (senderMac.Length != 6 || address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("needs a 6-byte MAC and an IPv4 address");
        }

        var frame = new byte[ArpFrameLength];
        var span = frame.AsSpan();
        BroadcastMac.CopyTo(span);
        senderMac.CopyTo(span[6..]);
        span[12] = 0x08; // EtherType ARP
        span[13] = 0x06;

        var arp = span[14..];
        arp[1] = 1; // hardware type Ethernet
        arp[2] = 0x08; // protocol type IPv4
        arp[4] = 6; // hardware address length
        arp[5] = 4; // protocol address length
        arp[7] = 1; // operation: request
        senderMac.CopyTo(arp[8..]);
        address.TryWriteBytes(arp[14..], out _);
        // Target MAC (arp[18..24]) stays zero: nobody in particular is asked.
        address.TryWriteBytes(arp[24..], out _);
        return frame;
    }

    /// <summary>
    /// An unsolicited Neighbour Advertisement (RFC 4861 7.2.6): Override set so neighbours replace a cached MAC,
    /// Solicited clear, the target link-layer address option carrying our MAC. The checksum stays zero: the kernel
    /// fills it in for raw ICMPv6 sockets.
    /// </summary>
    public static byte[] UnsolicitedNeighbourAdvertisement(ReadOnlySpan<byte> senderMac, IPAddress address)
    {
        if (senderMac.Length != 6 || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("needs a 6-byte MAC and an IPv6 address");
        }

        var message = new byte[NeighbourAdvertisementLength];
        var span = message.AsSpan();
        span[0] = NeighbourAdvertisementType;
        span[4] = 0x20; // flags R=0 S=0 O=1
        address.TryWriteBytes(span[8..24], out _);
        span[24] = 2; // option: target link-layer address
        span[25] = 1; // its length in units of 8 bytes
        senderMac.CopyTo(span[26..]);
        return message;
    }
}
