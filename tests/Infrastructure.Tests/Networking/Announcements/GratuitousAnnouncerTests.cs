using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Networking;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Tests.Networking.Support;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Networking.Announcements;

public sealed class GratuitousAnnouncerTests : IDisposable
{
    private const string LeftDevice = "llb-a";
    private const string RightDevice = "llb-b";
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);
    private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::10");

    private readonly TestMeterFactory _meters = new();

    public void Dispose() => _meters.Dispose();

    [RootFact]
    public async Task Announce_IPv4_SendsCountGratuitousArpRequestsIntervalApart()
    {
        var (left, right) = NetworkNamespace.CreateVethPair(LeftDevice, RightDevice, "192.0.2.10/24", "192.0.2.20/24");
        using (left)
        using (right)
        {
            var (leftIndex, leftMac) = Device(left, LeftDevice);
            using var capture = Capture.Open(right, RightDevice, PacketSocket.EtherTypeArp);
            var announcer = Announcer(new AnnouncementOptions { Count = 3, Interval = Interval }, out var log);

            var collecting = capture.CollectInBackground(frame => IsArpFor(frame, V4), expected: 3, TimeSpan.FromSeconds(4));
            await left.Run(() => announcer.AnnounceAsync(leftIndex, LeftDevice, V4, CancellationToken.None).AsTask()).WaitAsync(TimeSpan.FromSeconds(4));
            var frames = await collecting;

            Assert.Equal(3, frames.Count);
            foreach (var (_, frame) in frames)
            {
                Assert.Equal(AnnouncementFrames.BroadcastMac.ToArray(), frame[..6]);
                Assert.Equal(leftMac, frame[6..12]);
                var arp = frame.AsSpan(14);
                Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(arp)); // Ethernet
                Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(arp[2..])); // IPv4
                Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(arp[6..])); // request
                Assert.Equal(leftMac, arp[8..14].ToArray());
                Assert.Equal(V4, new IPAddress(arp[14..18]));
                Assert.Equal(new byte[6], arp[18..24].ToArray());
                Assert.Equal(V4, new IPAddress(arp[24..28]));
            }

            AssertSpacedByInterval(frames);
            Assert.Contains(log.Entries, entry => entry.EventId.Id == 4101);
        }
    }

    [RootFact]
    public async Task Announce_IPv6_SendsUnsolicitedNeighbourAdvertisementsToAllNodes()
    {
        var (left, right) = NetworkNamespace.CreateVethPair(LeftDevice, RightDevice, "2001:db8::10/64", "2001:db8::20/64");
        using (left)
        using (right)
        {
            var (leftIndex, leftMac) = Device(left, LeftDevice);
            using var capture = Capture.Open(right, RightDevice, PacketSocket.EtherTypeIPv6);
            using var announcements = Announcements();
            var announcer = Announcer(new AnnouncementOptions { Count = 2, Interval = Interval }, out var log);

            var collecting = capture.CollectInBackground(frame => IsNeighbourAdvertisementFor(frame, V6), expected: 2, TimeSpan.FromSeconds(4));
            await left.Run(() => announcer.AnnounceAsync(leftIndex, LeftDevice, V6, CancellationToken.None).AsTask()).WaitAsync(TimeSpan.FromSeconds(4));
            var frames = await collecting;

            Assert.Equal(2, frames.Count);
            foreach (var (_, frame) in frames)
            {
                Assert.Equal(leftMac, frame[6..12]);
                var ip = frame.AsSpan(14);
                Assert.Equal(255, ip[7]); // hop limit
                Assert.Equal(IPAddress.Parse("ff02::1"), new IPAddress(ip[24..40]));
                var icmp = ip[40..];
                Assert.Equal(0x20, icmp[4] & 0xe0); // Override only: not a router, not solicited
                Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(icmp[2..])); // the kernel filled in the checksum
                Assert.Equal(2, icmp[24]); // target link-layer address option
                Assert.Equal(leftMac, icmp[26..32].ToArray());
            }

            AssertSpacedByInterval(frames);
            Assert.Contains(log.Entries, entry => entry.EventId.Id == 4101);
            // The announcement has completed (awaited above), so every frame it sent has been counted.
            Assert.Equal(
                [$"1 device={LeftDevice} family=ipv6 result=sent", $"1 device={LeftDevice} family=ipv6 result=sent"],
                announcements.GetMeasurementSnapshot().Select(measurement => measurement.Describe()));
        }
    }

    [RootFact]
    public async Task Announce_Disabled_SendsNothing()
    {
        var (left, right) = NetworkNamespace.CreateVethPair(LeftDevice, RightDevice, "192.0.2.10/24", "192.0.2.20/24");
        using (left)
        using (right)
        {
            var (leftIndex, _) = Device(left, LeftDevice);
            using var capture = Capture.Open(right, RightDevice, PacketSocket.EtherTypeArp);
            var announcer = Announcer(new AnnouncementOptions { Enabled = false, Interval = Interval }, out _);

            await left.Run(() => announcer.AnnounceAsync(leftIndex, LeftDevice, V4, CancellationToken.None).AsTask());

            Assert.Empty(capture.Collect(frame => IsArpFor(frame, V4), expected: 1, TimeSpan.FromSeconds(1)));
        }
    }

    [RootTheory]
    [InlineData("192.0.2.10")]
    [InlineData("2001:db8::10")]
    public async Task Announce_MissingDevice_LogsCountsOneFailureAndDoesNotThrow(string address)
    {
        using var space = NetworkNamespace.Create();
        using var announcements = Announcements();
        var announcer = Announcer(new AnnouncementOptions { Interval = Interval }, out var log);

        await space.Run(() => announcer.AnnounceAsync(4242, "llb-gone", IPAddress.Parse(address), CancellationToken.None).AsTask());

        var entry = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.InRange(entry.EventId.Id, 4101, 4199);
        Assert.Contains("llb-gone", entry.Message, StringComparison.Ordinal);
        // One failure for the announcement, not one per frame it would have sent (Count is 3).
        var family = address.Contains(':', StringComparison.Ordinal) ? "ipv6" : "ipv4";
        Assert.Equal([$"1 device=llb-gone family={family} result=failed"], announcements.GetMeasurementSnapshot().Select(measurement => measurement.Describe()));
    }

    [RootFact]
    public async Task Announce_Cancelled_StopsQuietly()
    {
        var (left, right) = NetworkNamespace.CreateVethPair(LeftDevice, RightDevice, "192.0.2.10/24", "192.0.2.20/24");
        using (left)
        using (right)
        {
            var (leftIndex, _) = Device(left, LeftDevice);
            using var capture = Capture.Open(right, RightDevice, PacketSocket.EtherTypeArp);
            var announcer = Announcer(new AnnouncementOptions { Count = 5, Interval = TimeSpan.FromSeconds(5) }, out var log);
            using var cancel = new CancellationTokenSource();

            var announcing = left.Run(() => announcer.AnnounceAsync(leftIndex, LeftDevice, V4, cancel.Token).AsTask());
            var first = capture.Collect(frame => IsArpFor(frame, V4), expected: 1, TimeSpan.FromSeconds(2));
            await cancel.CancelAsync();
            await announcing.WaitAsync(TimeSpan.FromSeconds(2));

            Assert.Single(first);
            Assert.Contains(log.Entries, entry => entry.EventId.Id == 4106);
        }
    }

    [RootFact]
    public async Task NetlinkDeviceAddingAnAddress_AnnouncesAndCountsItAndReAddingAPresentOneDoesNot()
    {
        var added = IPAddress.Parse("192.0.2.60");
        var (left, right) = NetworkNamespace.CreateVethPair(LeftDevice, RightDevice, "192.0.2.10/24", "192.0.2.20/24");
        using (left)
        using (right)
        {
            using var capture = Capture.Open(right, RightDevice, PacketSocket.EtherTypeArp);
            using var announcements = Announcements();
            var announcer = Announcer(new AnnouncementOptions { Count = 2, Interval = Interval }, out _);
            using var device = left.Run(() => new NetlinkLinkDevice(
                new LinkDeviceOptions { DeviceName = LeftDevice }, new LinkMetrics(_meters), new CapturingLogger<NetlinkLinkDevice>(), announcer));

            // Added from inside the namespace: the announcer opens its sockets in the caller's namespace, as the daemon,
            // which lives in one, always does.
            bool Add() => left.Run(() => device.AddAddressAsync(added, CancellationToken.None).AsTask().GetAwaiter().GetResult().Succeeded);

            var collecting = capture.CollectInBackground(frame => IsArpFor(frame, added), expected: 2, TimeSpan.FromSeconds(4));
            Assert.True(Add());
            Assert.Equal(2, (await collecting).Count);
            // The announcement runs in the background and counts a frame once its send returns, which the capture may see first.
            await announcements.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(5));

            collecting = capture.CollectInBackground(frame => IsArpFor(frame, added), expected: 1, TimeSpan.FromSeconds(1));
            Assert.True(Add());
            Assert.Empty(await collecting);
            Assert.Equal(
                [$"1 device={LeftDevice} family=ipv4 result=sent", $"1 device={LeftDevice} family=ipv4 result=sent"],
                announcements.GetMeasurementSnapshot().Select(measurement => measurement.Describe()));
        }
    }

    private GratuitousAnnouncer Announcer(AnnouncementOptions options, out CapturingLogger<GratuitousAnnouncer> log)
    {
        log = new CapturingLogger<GratuitousAnnouncer>();
        return new GratuitousAnnouncer(options, new AnnouncementMetrics(_meters), TimeProvider.System, log);
    }

    private MetricCollector<long> Announcements() => new(_meters, LoadBalancerMeter.Name, "littlelb.link.announcements");

    private static (int Index, byte[] Mac) Device(NetworkNamespace space, string device)
    {
        // `ip netns exec` mounts the namespace's own sysfs, so these files describe the device inside it.
        var index = int.Parse(space.Exec($"cat /sys/class/net/{device}/ifindex").Trim(), CultureInfo.InvariantCulture);
        var mac = Convert.FromHexString(space.Exec($"cat /sys/class/net/{device}/address").Trim().Replace(":", string.Empty, StringComparison.Ordinal));
        return (index, mac);
    }

    private static bool IsArpFor(byte[] frame, IPAddress address) =>
        frame.Length >= AnnouncementFrames.ArpFrameLength
        && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == PacketSocket.EtherTypeArp
        && new IPAddress(frame.AsSpan(14 + 14, 4)).Equals(address);

    private static bool IsNeighbourAdvertisementFor(byte[] frame, IPAddress address) =>
        frame.Length >= 14 + 40 + AnnouncementFrames.NeighbourAdvertisementLength
        && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == PacketSocket.EtherTypeIPv6
        && frame[14 + 6] == 58 // next header ICMPv6, no extension headers
        && frame[14 + 40] == AnnouncementFrames.NeighbourAdvertisementType
        && new IPAddress(frame.AsSpan(14 + 40 + 8, 16)).Equals(address);

    private static void AssertSpacedByInterval(List<(TimeSpan At, byte[] Frame)> frames)
    {
        for (var i = 1; i < frames.Count; i++)
        {
            // Not a burst: at least about one interval apart. The upper bound is loose because a timer that fires
            // late on a loaded machine (parallel tests, two cores) is not a fault of the announcer.
            var gap = frames[i].At - frames[i - 1].At;
            Assert.InRange(gap, Interval * 0.8, Interval + TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>An AF_PACKET socket opened inside a namespace, seeing every frame of one type on one device there.</summary>
    private sealed class Capture : IDisposable
    {
        private readonly PacketSocket _socket;
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        private Capture(PacketSocket socket) => _socket = socket;

        public static Capture Open(NetworkNamespace space, string device, ushort etherType)
        {
            var (index, _) = Device(space, device);
            return space.Run(() =>
            {
                Assert.Equal(0, PacketSocket.TryOpen(etherType, out var socket));
                try
                {
                    Assert.Equal(0, socket.Bind(index, etherType));
                    Assert.Equal(0, socket.SetReceiveTimeout(TimeSpan.FromMilliseconds(100)));
                    return new Capture(socket);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            });
        }

        /// <summary>
        /// Collects on a thread of its own, started before the announcement, so every frame is stamped as it arrives
        /// even when the test runner keeps the thread pool busy.
        /// </summary>
        public Task<List<(TimeSpan At, byte[] Frame)>> CollectInBackground(Func<byte[], bool> match, int expected, TimeSpan within) =>
            Task.Factory.StartNew(() => Collect(match, expected, within), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        /// <summary>Frames that match, stamped on arrival, until <paramref name="expected"/> arrived or the time is up.</summary>
        public List<(TimeSpan At, byte[] Frame)> Collect(Func<byte[], bool> match, int expected, TimeSpan within)
        {
            var frames = new List<(TimeSpan, byte[])>();
            var buffer = new byte[2048];
            var deadline = _clock.Elapsed + within;
            while (frames.Count < expected && _clock.Elapsed < deadline)
            {
                var errno = _socket.Receive(buffer, out var length);
                if (errno == PacketSocket.EAGAIN)
                {
                    continue;
                }

                Assert.Equal(0, errno);
                var frame = buffer[..length];
                if (match(frame))
                {
                    frames.Add((_clock.Elapsed, frame));
                }
            }

            return frames;
        }

        public void Dispose() => _socket.Dispose();
    }
}
