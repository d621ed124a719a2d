using LoadBalancer.Application.Common.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static LoadBalancer.Application.Tests.Reconciliation.ReconcilerHarness;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Reconciliation;

/// <summary>The reconciler's instruments over the real reconciler and handlers (<see cref="ReconcilerHarness"/>).</summary>
public sealed class ReconcileMetricsTests : IAsyncDisposable
{
    private readonly ReconcilerHarness _harness = new();

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    [Fact]
    public async Task Serving_IsLeader_CountsServicesByState_AndTimesEachReconcile()
    {
        using var leader = Collector<int>("littlelb.leader");
        using var services = Collector<int>("littlelb.services");
        using var durations = Collector<double>("littlelb.reconcile.duration");
        using var depth = Collector<int>("littlelb.reconcile.queue.depth");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:80"));
        _harness.Source.Put(Service("api", port: 81, backends: "10.0.0.1:81"));
        _harness.Source.Put(Service("clash", ip: "192.168.0.225", backends: "10.0.0.3:80"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.225")];

        await _harness.StartAsync();
        leader.RecordObservableInstruments();
        services.RecordObservableInstruments();
        depth.RecordObservableInstruments();

        Assert.Equal(1, leader.LastMeasurement!.Value);
        Assert.Equal(0, depth.LastMeasurement!.Value);
        Assert.Equal(
            [("served", 2), ("refused", 1), ("invalid", 0), ("failing", 0), ("pending", 0)],
            services.GetMeasurementSnapshot().Select(measurement => ((string)measurement.Tags["state"]!, measurement.Value)));
        Assert.Equal(3, durations.GetMeasurementSnapshot().Count(measurement => (string?)measurement.Tags["result"] == "ok"));
    }

    [Fact]
    public async Task ATermThatEnds_CountsBothChanges_AndTheReplicaIsNoLongerLeader()
    {
        using var leader = Collector<int>("littlelb.leader");
        using var changes = Collector<long>("littlelb.leadership.changes");
        using var services = Collector<int>("littlelb.services");

        await _harness.StartAsync();
        await _harness.EndTermAsync(stopping: false);
        leader.RecordObservableInstruments();
        services.RecordObservableInstruments();

        Assert.Equal(["leading", "standing_by"], changes.GetMeasurementSnapshot().Select(measurement => (string)measurement.Tags["to"]!));
        Assert.Equal(0, leader.LastMeasurement!.Value);
        Assert.Empty(services.GetMeasurementSnapshot());
    }

    private MetricCollector<T> Collector<T>(string instrument)
        where T : struct => new(_harness.Fakes.Meters, LoadBalancerMeter.Name, instrument);
}
