using System.Net;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Networking;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LoadBalancer.Infrastructure.Tests.Networking;

/// <summary>The link instruments without a kernel; NetlinkLinkDeviceTests and GratuitousAnnouncerTests count them on a real link.</summary>
public sealed class LinkMetricsTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();

    public void Dispose() => _meters.Dispose();

    [Fact]
    public void HeldAddresses_AreReadFromEachDeviceWhenCollected()
    {
        var metrics = new LinkMetrics(_meters);
        using var held = new MetricCollector<int>(_meters, LoadBalancerMeter.Name, "littlelb.link.addresses");
        var onEth0 = 2;
        metrics.ObserveHeld("eth0", () => onEth0);
        metrics.ObserveHeld("eth1", () => 0);

        held.RecordObservableInstruments();
        var first = held.GetMeasurementSnapshot(clear: true).Select(measurement => measurement.Describe()).Order(StringComparer.Ordinal);
        onEth0 = 3;
        held.RecordObservableInstruments();
        var second = held.GetMeasurementSnapshot().Select(measurement => measurement.Describe()).Order(StringComparer.Ordinal);

        Assert.Equal(["0 device=eth1", "2 device=eth0"], first);
        Assert.Equal(["0 device=eth1", "3 device=eth0"], second);
    }

    [Fact]
    public void Restored_IsCountedPerDevice()
    {
        var metrics = new LinkMetrics(_meters);
        using var restored = new MetricCollector<long>(_meters, LoadBalancerMeter.Name, "littlelb.link.addresses.restored");

        metrics.Restored("eth0");
        metrics.Restored("eth0");

        Assert.Equal(["1 device=eth0", "1 device=eth0"], restored.GetMeasurementSnapshot().Select(measurement => measurement.Describe()));
    }

    [Fact]
    public void Announcements_AreCountedByDeviceFamilyAndResult()
    {
        var metrics = new AnnouncementMetrics(_meters);
        using var announcements = new MetricCollector<long>(_meters, LoadBalancerMeter.Name, "littlelb.link.announcements");

        metrics.Sent("eth0", IPAddress.Parse("192.0.2.10"));
        metrics.Failed("eth0", IPAddress.Parse("2001:db8::10"));

        Assert.Equal(
            ["1 device=eth0 family=ipv4 result=sent", "1 device=eth0 family=ipv6 result=failed"],
            announcements.GetMeasurementSnapshot().Select(measurement => measurement.Describe()));
    }
}
