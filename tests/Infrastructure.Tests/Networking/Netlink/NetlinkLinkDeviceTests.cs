using System.Net;
using System.Text.Json;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Networking;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Tests.Networking.Support;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

/// <summary>The device against a real kernel: each test owns a veth pair between two namespaces it creates.</summary>
public sealed class NetlinkLinkDeviceTests : IDisposable
{
    private const string DeviceName = "nld-a";
    private const string Peer = "nld-b";

    private readonly TestMeterFactory _meters = new();

    public void Dispose() => _meters.Dispose();

    private LinkMetrics Metrics() => new(_meters);

    [RootFact]
    public async Task AddAndRemove_TwiceEach_LeaveTheAddressOnceThenNotAtAll()
    {
        using var pair = VethPair.Create(Metrics());
        var address = IPAddress.Parse("192.0.2.10");

        var firstAdd = await pair.Device.AddAddressAsync(address, CancellationToken.None);
        var secondAdd = await pair.Device.AddAddressAsync(address, CancellationToken.None);

        Assert.True(firstAdd.Succeeded, firstAdd.Error);
        Assert.True(secondAdd.Succeeded, secondAdd.Error);
        Assert.Equal([24], pair.PrefixesOf(address));
        Assert.Contains(address, await pair.Device.ListAddressesAsync(CancellationToken.None));
        Assert.Contains(pair.Logger.Entries, entry => entry.EventId.Id == 4006);

        var firstRemove = await pair.Device.RemoveAddressAsync(address, CancellationToken.None);
        var secondRemove = await pair.Device.RemoveAddressAsync(address, CancellationToken.None);

        Assert.True(firstRemove.Succeeded, firstRemove.Error);
        Assert.True(secondRemove.Succeeded, secondRemove.Error);
        Assert.Empty(pair.PrefixesOf(address));
        Assert.DoesNotContain(address, await pair.Device.ListAddressesAsync(CancellationToken.None));
        // The device's own address is untouched.
        Assert.Equal([24], pair.PrefixesOf(IPAddress.Parse("192.0.2.1")));
    }

    [RootTheory]
    [InlineData("192.0.2.10", 24, 4003)]
    [InlineData("203.0.113.5", 32, 4004)]
    [InlineData("2001:db8::10", 64, 4003)]
    [InlineData("2001:db8:ffff::5", 128, 4004)]
    public async Task Add_PrefixComesFromTheCoveringRouteOnTheDevice_ElseAHostPrefix(string text, int expectedPrefix, int expectedEvent)
    {
        using var pair = VethPair.Create(Metrics());
        var address = IPAddress.Parse(text);

        var result = await pair.Device.AddAddressAsync(address, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal([expectedPrefix], pair.PrefixesOf(address));
        Assert.Contains(pair.Logger.Entries, entry => entry.EventId.Id == expectedEvent && entry.Message.Contains(text, StringComparison.Ordinal));
    }

    [RootFact]
    public async Task Add_IPv6_IsUsableAtOnce_NotTentative()
    {
        using var pair = VethPair.Create(Metrics());
        var address = IPAddress.Parse("2001:db8::20");

        var result = await pair.Device.AddAddressAsync(address, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        var entry = Assert.Single(pair.AddressInfo(address));
        Assert.False(entry.TryGetProperty("tentative", out _), entry.ToString());
        // Binding works straight away, which is what a listener on the address needs.
        pair.Left.Run(() =>
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, 0));
        });
    }

    [RootFact]
    public async Task RemoveAddress_KeepsOtherAddressesOfTheSameSubnet()
    {
        using var pair = VethPair.Create(Metrics());
        var first = IPAddress.Parse("192.0.2.10");
        var second = IPAddress.Parse("192.0.2.11");
        await pair.Device.AddAddressAsync(first, CancellationToken.None);
        await pair.Device.AddAddressAsync(second, CancellationToken.None);

        var result = await pair.Device.RemoveAddressAsync(first, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Empty(pair.PrefixesOf(first));
        Assert.Equal([24], pair.PrefixesOf(second));
    }

    [RootFact]
    public async Task Remove_AddressPutThereByHandWithAnotherPrefix_IsRemovedWithThatPrefix()
    {
        using var pair = VethPair.Create(Metrics());
        pair.Left.Exec($"ip address add 198.51.100.9/28 dev {DeviceName}");
        var address = IPAddress.Parse("198.51.100.9");

        var result = await pair.Device.RemoveAddressAsync(address, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Empty(pair.PrefixesOf(address));
    }

    [RootFact]
    public async Task Operations_OnAMissingDevice_FailWithTheDeviceNamed()
    {
        using var space = NetworkNamespace.Create();
        var logger = new CapturingLogger<NetlinkLinkDevice>();
        using var device = space.Run(() => new NetlinkLinkDevice(new LinkDeviceOptions { DeviceName = "eth9" }, Metrics(), logger));
        var address = IPAddress.Parse("192.0.2.10");

        var added = await device.AddAddressAsync(address, CancellationToken.None);
        var removed = await device.RemoveAddressAsync(address, CancellationToken.None);
        var listed = await device.ListAddressesAsync(CancellationToken.None);

        Assert.False(added.Succeeded);
        Assert.Equal("link device 'eth9' does not exist", added.Error);
        Assert.False(removed.Succeeded);
        Assert.Equal("link device 'eth9' does not exist", removed.Error);
        Assert.Empty(listed);
        Assert.Contains(logger.Entries, entry => entry.EventId.Id == 4009 && entry.Level == LogLevel.Warning);
    }

    [RootFact]
    public async Task Add_WithoutCapNetAdmin_FailsNamingTheCapability()
    {
        using var pair = VethPair.Create(Metrics());
        var logger = new CapturingLogger<NetlinkLinkDevice>();
        // The socket records its opener's credentials, and the kernel checks them on every change request.
        using var unprivileged = pair.Left.Run(() => CapabilityScope.WithoutNetAdmin(
            () => new NetlinkLinkDevice(new LinkDeviceOptions { DeviceName = DeviceName }, Metrics(), logger)));
        var address = IPAddress.Parse("192.0.2.10");

        var added = await unprivileged.AddAddressAsync(address, CancellationToken.None);
        pair.Left.Exec($"ip address add 192.0.2.11/24 dev {DeviceName}");
        var removed = await unprivileged.RemoveAddressAsync(IPAddress.Parse("192.0.2.11"), CancellationToken.None);

        Assert.False(added.Succeeded);
        Assert.Equal($"not permitted: CAP_NET_ADMIN is needed to add 192.0.2.10 to {DeviceName}", added.Error);
        Assert.False(removed.Succeeded);
        Assert.Equal($"not permitted: CAP_NET_ADMIN is needed to remove 192.0.2.11 from {DeviceName}", removed.Error);
        Assert.Empty(pair.PrefixesOf(address));
    }

    [RootFact]
    public async Task Add_AddressInAnotherDevicesSubnet_IsAddedAsAHostAddressWithAWarning()
    {
        using var pair = VethPair.Create(Metrics());
        // A second device in the same namespace owns 198.51.100.0/24; the kernel does not refuse the address on the
        // first device, so the adapter adds it as /32 and warns that the other network will not reach it there.
        pair.Left.Exec("ip link add nld-o type veth peer name nld-p && ip address add 198.51.100.1/24 dev nld-o && ip link set nld-o up && ip link set nld-p up");
        var address = IPAddress.Parse("198.51.100.20");

        var result = await pair.Device.AddAddressAsync(address, CancellationToken.None);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal([32], pair.PrefixesOf(address));
        var warning = Assert.Single(pair.Logger.Entries, entry => entry.EventId.Id == 4005);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("nld-o", warning.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void Constructor_WithoutDeviceName_ChoosesTheDefaultRoutesDeviceAndLogsWhy()
    {
        var (left, right) = NetworkNamespace.CreateVethPair("eth0", "eth1", "192.0.2.1/24", "192.0.2.2/24");
        using (left)
        using (right)
        {
            left.Exec("ip route add default via 192.0.2.2");
            var logger = new CapturingLogger<NetlinkLinkDevice>();

            using var device = left.Run(() => new NetlinkLinkDevice(new LinkDeviceOptions(), Metrics(), logger));

            Assert.Equal("eth0", device.Name);
            var line = Assert.Single(logger.Entries, entry => entry.EventId.Id == 4001);
            Assert.Equal("Link device eth0 chosen: eth0: the device of the default route via 192.0.2.2", line.Message);
        }
    }

    [RootFact]
    public async Task Constructor_NothingToDetect_FailsOperationsWithTheReason()
    {
        using var space = NetworkNamespace.Create();
        var logger = new CapturingLogger<NetlinkLinkDevice>();

        using var device = space.Run(() => new NetlinkLinkDevice(new LinkDeviceOptions(), Metrics(), logger));
        var result = await device.AddAddressAsync(IPAddress.Parse("192.0.2.10"), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.StartsWith("no link device found", result.Error, StringComparison.Ordinal);
        Assert.Contains(logger.Entries, entry => entry.EventId.Id == 4002 && entry.Level == LogLevel.Error);
        // No series for a device that is not there ("(none)"), rather than a 0 that looks like a device holding nothing.
        using var held = new MetricCollector<int>(_meters, LoadBalancerMeter.Name, "littlelb.link.addresses");
        held.RecordObservableInstruments();
        Assert.Empty(held.GetMeasurementSnapshot());
    }

    [RootFact]
    public async Task Monitor_AddressRemovedByHand_IsPutBackLoggedAndCounted()
    {
        using var pair = VethPair.Create(Metrics());
        using var restored = new MetricCollector<long>(_meters, LoadBalancerMeter.Name, "littlelb.link.addresses.restored");
        var address = IPAddress.Parse("192.0.2.10");
        Assert.True((await pair.Device.AddAddressAsync(address, CancellationToken.None)).Succeeded);
        Assert.Empty(restored.GetMeasurementSnapshot());

        pair.Left.Exec($"ip address del 192.0.2.10/24 dev {DeviceName}");

        Assert.True(await Eventually(() => pair.PrefixesOf(address).SequenceEqual([24])), "192.0.2.10/24 was not put back within 5 s");
        // The monitor's thread logs and counts just after the kernel has the address back, which the test may see first.
        await restored.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(5));
        var line = Assert.Single(pair.Logger.Entries, entry => entry.EventId.Id == 4011);
        Assert.Equal($"Put 192.0.2.10/24 back on {DeviceName}: 192.0.2.10/24 was removed from {DeviceName} by someone else", line.Message);
        var count = Assert.Single(restored.GetMeasurementSnapshot());
        Assert.Equal(1, count.Value);
        Assert.Equal(DeviceName, count.Tags["device"]);
    }

    [RootFact]
    public async Task HeldAddresses_AreReportedForTheDevice_WithoutItsOwnAddresses()
    {
        using var pair = VethPair.Create(Metrics());
        using var held = new MetricCollector<int>(_meters, LoadBalancerMeter.Name, "littlelb.link.addresses");
        var v4 = IPAddress.Parse("192.0.2.10");
        Assert.True((await pair.Device.AddAddressAsync(v4, CancellationToken.None)).Succeeded);
        Assert.True((await pair.Device.AddAddressAsync(IPAddress.Parse("2001:db8::10"), CancellationToken.None)).Succeeded);

        held.RecordObservableInstruments();
        var both = Assert.Single(held.GetMeasurementSnapshot(clear: true));
        Assert.True((await pair.Device.RemoveAddressAsync(v4, CancellationToken.None)).Succeeded);
        held.RecordObservableInstruments();
        var one = Assert.Single(held.GetMeasurementSnapshot());

        // 192.0.2.1 and 2001:db8::1 are on the device too, but not this daemon's to hold.
        Assert.Equal(2, both.Value);
        Assert.Equal(DeviceName, both.Tags["device"]);
        Assert.Equal(1, one.Value);
    }

    [RootFact]
    public async Task Monitor_DeviceDownAndUp_PutsTheIPv6AddressBack()
    {
        using var pair = VethPair.Create(Metrics());
        var address = IPAddress.Parse("2001:db8::30");
        Assert.True((await pair.Device.AddAddressAsync(address, CancellationToken.None)).Succeeded);

        // A device going down loses its IPv6 addresses (net.ipv6.conf.*.keep_addr_on_down is 0 by default), the
        // device's own 2001:db8::1/64 and its /64 route too; the address still comes back with the prefix it had.
        pair.Left.Exec($"ip link set {DeviceName} down && ip link set {DeviceName} up");

        Assert.True(await Eventually(() => pair.PrefixesOf(address).SequenceEqual([64])), "2001:db8::30/64 was not put back within 5 s");
        Assert.Empty(pair.PrefixesOf(IPAddress.Parse("2001:db8::1")));
        Assert.Contains(pair.Logger.Entries, entry => entry.EventId.Id == 4011 && entry.Message == $"Put 2001:db8::30/64 back on {DeviceName}: {DeviceName} came up");
    }

    [RootFact]
    public async Task Monitor_DeviceDeletedAndCreatedAgain_GetsTheAddressBack()
    {
        using var pair = VethPair.Create(Metrics());
        var address = IPAddress.Parse("192.0.2.10");
        Assert.True((await pair.Device.AddAddressAsync(address, CancellationToken.None)).Succeeded);

        // The new device has a new index and none of the old addresses; the name is what the device follows.
        pair.Left.Exec($"ip link del {DeviceName} && ip link add {DeviceName} type veth peer name nld-c && ip link set nld-c up && ip link set {DeviceName} up");

        Assert.True(await Eventually(() => pair.PrefixesOf(address).SequenceEqual([24])), "192.0.2.10/24 was not put back within 5 s");
    }

    [RootFact]
    public async Task Monitor_AddressRemovedThroughTheDevice_StaysRemoved()
    {
        using var pair = VethPair.Create(Metrics());
        var address = IPAddress.Parse("192.0.2.10");
        await pair.Device.AddAddressAsync(address, CancellationToken.None);

        await pair.Device.RemoveAddressAsync(address, CancellationToken.None);
        // A second, unrelated removal by hand gives the monitor a notification it must also ignore.
        pair.Left.Exec($"ip address add 192.0.2.12/24 dev {DeviceName} && ip address del 192.0.2.12/24 dev {DeviceName}");

        Assert.False(await Eventually(() => pair.PrefixesOf(address).Count > 0, TimeSpan.FromSeconds(1)));
        Assert.Empty(pair.PrefixesOf(IPAddress.Parse("192.0.2.12")));
        Assert.DoesNotContain(pair.Logger.Entries, entry => entry.EventId.Id == 4011);
    }

    [RootFact]
    public async Task Monitor_Disabled_LeavesARemovedAddressAlone()
    {
        var (left, right) = NetworkNamespace.CreateVethPair(DeviceName, Peer, "192.0.2.1/24", null);
        using (left)
        using (right)
        {
            var options = new LinkDeviceOptions { DeviceName = DeviceName, RestoreRemovedAddresses = false };
            using var device = left.Run(() => new NetlinkLinkDevice(options, Metrics(), new CapturingLogger<NetlinkLinkDevice>()));
            await device.AddAddressAsync(IPAddress.Parse("192.0.2.10"), CancellationToken.None);

            left.Exec($"ip address del 192.0.2.10/24 dev {DeviceName}");

            Assert.False(await Eventually(
                () => left.Exec($"ip -o address show dev {DeviceName}").Contains("192.0.2.10", StringComparison.Ordinal),
                TimeSpan.FromSeconds(1)));
        }
    }

    /// <summary>Polls until the condition holds or the time is up (5 s unless told).</summary>
    private static async Task<bool> Eventually(Func<bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(5));
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition();
    }

    /// <summary>A veth pair with 192.0.2.1/24 and 2001:db8::1/64 on the left end and the device built inside.</summary>
    private sealed class VethPair : IDisposable
    {
        private VethPair(NetworkNamespace left, NetworkNamespace right)
        {
            Left = left;
            Right = right;
        }

        public NetworkNamespace Left { get; }

        public NetworkNamespace Right { get; }

        public CapturingLogger<NetlinkLinkDevice> Logger { get; } = new();

        public NetlinkLinkDevice Device { get; private set; } = null!;

        public static VethPair Create(LinkMetrics metrics)
        {
            var (left, right) = NetworkNamespace.CreateVethPair(DeviceName, Peer, "192.0.2.1/24", "192.0.2.2/24");
            var pair = new VethPair(left, right);
            try
            {
                left.Exec($"ip address add 2001:db8::1/64 dev {DeviceName} nodad");
                pair.Device = left.Run(() => new NetlinkLinkDevice(new LinkDeviceOptions { DeviceName = DeviceName }, metrics, pair.Logger));
                return pair;
            }
            catch
            {
                pair.Dispose();
                throw;
            }
        }

        /// <summary>The address's entries on the device as `ip -j` reports them.</summary>
        public IReadOnlyList<JsonElement> AddressInfo(IPAddress address)
        {
            using var document = JsonDocument.Parse(Left.Exec($"ip -j address show dev {DeviceName}"));
            return [.. document.RootElement.EnumerateArray()
                .SelectMany(link => link.GetProperty("addr_info").EnumerateArray())
                .Where(info => IPAddress.Parse(info.GetProperty("local").GetString()!).Equals(address))
                .Select(info => info.Clone())];
        }

        public IReadOnlyList<int> PrefixesOf(IPAddress address) =>
            [.. AddressInfo(address).Select(info => info.GetProperty("prefixlen").GetInt32())];

        public void Dispose()
        {
            Device?.Dispose();
            Right.Dispose();
            Left.Dispose();
        }
    }
}
