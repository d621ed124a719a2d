using System.Diagnostics.Metrics;
using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>The forwarder's counters as instruments: read when collected, labelled per listener and per backend.</summary>
public sealed class ForwardingMetricsTests : IDisposable
{
    private static readonly PortBinding Web = new(IPAddress.Parse("192.0.2.10"), ServicePort.Tcp(443));

    private readonly ServiceProvider _provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IForwarderStatistics _statistics = Substitute.For<IForwarderStatistics>();
    private readonly IMeterFactory _meters;
    private readonly FakeTimeProvider _time = new();

    public ForwardingMetricsTests()
    {
        _meters = _provider.GetRequiredService<IMeterFactory>();
        _ = new ForwardingMetrics(_meters, _statistics, _time);
    }

    public void Dispose() => _provider.Dispose();

    [Fact]
    public void Listener_CountersAreReadWhenCollected_WithItsServicePortAndProtocol()
    {
        using var opened = Collector<long>("littlelb.listener.connections.opened");
        using var active = Collector<long>("littlelb.listener.connections.active");
        using var traffic = Collector<long>("littlelb.listener.traffic");
        Report(new TrafficSnapshot(ConnectionsOpened: 7, ConnectionsActive: 2, ConnectionsFailed: 1, ConnectionsRejected: 0, BytesFromClient: 300, BytesFromBackend: 9000));

        opened.RecordObservableInstruments();
        active.RecordObservableInstruments();
        traffic.RecordObservableInstruments();

        var measurement = Assert.Single(opened.GetMeasurementSnapshot());
        Assert.Equal(7, measurement.Value);
        Assert.Equal(("shop", "web", 443, "TCP"), ((string)measurement.Tags["namespace"]!, (string)measurement.Tags["service"]!, (int)measurement.Tags["port"]!, (string)measurement.Tags["protocol"]!));
        Assert.Equal(2, active.LastMeasurement!.Value);
        Assert.Equal(
            [("client_to_backend", 300L), ("backend_to_client", 9000L)],
            traffic.GetMeasurementSnapshot().Select(bytes => ((string)bytes.Tags["direction"]!, bytes.Value)));
    }

    [Fact]
    public void Listener_ClientsRefusedOutsideTheSourceRanges_AreCounted()
    {
        using var refused = Collector<long>("littlelb.listener.connections.outside_source_ranges");
        Report(new TrafficSnapshot(0, 0, 0, 0, 0, 0) { RefusedBySourceRange = 4 });

        refused.RecordObservableInstruments();

        var measurement = Assert.Single(refused.GetMeasurementSnapshot());
        Assert.Equal(4, measurement.Value);
        Assert.Equal("web", measurement.Tags["service"]);
    }

    [Fact]
    public void Backends_HealthIsOneForItsStateOnly_WithConnectsFailedAndEjections()
    {
        using var health = Collector<int>("littlelb.backend.health");
        using var failures = Collector<long>("littlelb.backend.connect.failures");
        using var ejections = Collector<long>("littlelb.backend.ejections");
        Report(TrafficSnapshot.None, new BackendStatistics(new Endpoint(IPAddress.Parse("10.0.0.2"), 8443), BackendHealthState.Ejected, false, TrafficSnapshot.None with { ConnectionsFailed = 5 })
        {
            Ejections = 2,
        });

        health.RecordObservableInstruments();
        failures.RecordObservableInstruments();
        ejections.RecordObservableInstruments();

        Assert.Equal(
            [("healthy", 0), ("not_ready", 0), ("failing", 0), ("ejected", 1)],
            health.GetMeasurementSnapshot().Select(state => ((string)state.Tags["state"]!, state.Value)));
        Assert.All(health.GetMeasurementSnapshot(), state => Assert.Equal("10.0.0.2:8443", state.Tags["backend"]));
        Assert.Equal(5, failures.LastMeasurement!.Value);
        Assert.Equal(2, ejections.LastMeasurement!.Value);
    }

    [Fact]
    public void AListenerThatStopped_HasNoSeries()
    {
        using var opened = Collector<long>("littlelb.listener.connections.opened");
        Report([]);

        opened.RecordObservableInstruments();

        Assert.Empty(opened.GetMeasurementSnapshot());
    }

    [Fact]
    public void OneCollection_ReadsTheCountersOnce_AndALaterOneReadsThemAgain()
    {
        using var opened = Collector<long>("littlelb.listener.connections.opened");
        using var traffic = Collector<long>("littlelb.listener.traffic");
        using var health = Collector<int>("littlelb.backend.health");
        Report(TrafficSnapshot.None with { ConnectionsOpened = 1 });

        opened.RecordObservableInstruments();
        traffic.RecordObservableInstruments();
        health.RecordObservableInstruments();
        _statistics.Received(1).GetAllStatistics();

        Report(TrafficSnapshot.None with { ConnectionsOpened = 2 });
        opened.RecordObservableInstruments();

        _statistics.Received(1).GetAllStatistics();
        Assert.Equal(2, opened.LastMeasurement!.Value);
    }

    [Fact]
    public void UdpListener_DatagramsByDirectionAndDrops_AreSeries_WhileTcpListenersHaveNone()
    {
        using var datagrams = Collector<long>("littlelb.listener.datagrams");
        using var dropped = Collector<long>("littlelb.listener.datagrams.dropped");
        var dns = new PortBinding(IPAddress.Parse("192.0.2.10"), ServicePort.Udp(53));
        var traffic = TrafficSnapshot.None with { DatagramsFromClient = 40, DatagramsFromBackend = 39, DatagramsDropped = 1 };
        Report([
            new ListenerStatistics(dns, new ServiceKey("shop", "dns"), traffic, []),
            new ListenerStatistics(Web, new ServiceKey("shop", "web"), TrafficSnapshot.None, []),
        ]);

        datagrams.RecordObservableInstruments();
        dropped.RecordObservableInstruments();

        Assert.Equal(
            [("client_to_backend", 40L, "UDP"), ("backend_to_client", 39L, "UDP")],
            datagrams.GetMeasurementSnapshot().Select(count => ((string)count.Tags["direction"]!, count.Value, (string)count.Tags["protocol"]!)));
        Assert.Equal(1, Assert.Single(dropped.GetMeasurementSnapshot()).Value);
    }

    private void Report(TrafficSnapshot listener, params BackendStatistics[] backends) =>
        Report([new ListenerStatistics(Web, new ServiceKey("shop", "web"), listener, backends)]);

    /// <summary>
    /// What the forwarder reports from now on. The clock then moves past <see cref="ForwardingMetrics.SnapshotLifetime"/>:
    /// a listener of another test (an OpenTelemetry provider listens by meter name, whatever the factory) may have
    /// collected these instruments before, and on a fake clock that never moves its read would be served forever.
    /// </summary>
    private void Report(IReadOnlyList<ListenerStatistics> listeners)
    {
        _statistics.GetAllStatistics().Returns(listeners);
        _time.Advance(ForwardingMetrics.SnapshotLifetime);
        _statistics.ClearReceivedCalls();
    }

    private MetricCollector<T> Collector<T>(string instrument)
        where T : struct => new(_meters, LoadBalancerMeter.Name, instrument);
}
