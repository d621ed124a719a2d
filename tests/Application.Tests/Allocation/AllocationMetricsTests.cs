using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using static LoadBalancer.Application.Tests.TestData;
using AllocateCommand = LoadBalancer.Application.Allocation.AllocateLoadBalancerIp.AllocateLoadBalancerIp;

namespace LoadBalancer.Application.Tests.Allocation;

public sealed class AllocationMetricsTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly AllocationRegistry _registry = Registry("192.168.0.224/28");
    private readonly AllocateLoadBalancerIpHandler _handler;

    public AllocationMetricsTests() =>
        _handler = new AllocateLoadBalancerIpHandler(_registry, new AllocationMetrics(_meters, _registry), NullLogger<AllocateLoadBalancerIpHandler>.Instance);

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task EachRequest_IsCountedByResultAndReason()
    {
        using var allocations = new MetricCollector<long>(_meters, LoadBalancerMeter.Name, "littlelb.allocations");

        await AllocateAsync(Spec("web", 80));
        await AllocateAsync(Spec("api", 80) with { LoadBalancerIp = "192.168.0.225" });
        await AllocateAsync(Spec("admin", 81));
        await AllocateAsync(Spec("web", 80));
        await AllocateAsync(Spec("far", 80) with { LoadBalancerIp = "10.9.9.9" });

        Assert.Equal(
            [("allocated", "new"), ("refused", "port_in_use"), ("allocated", "reused"), ("allocated", "kept"), ("refused", "outside_pool")],
            allocations.GetMeasurementSnapshot().Select(measurement => ((string)measurement.Tags["result"]!, (string)measurement.Tags["reason"]!)));
        Assert.All(allocations.GetMeasurementSnapshot(), measurement => Assert.Equal(1, measurement.Value));
    }

    [Fact]
    public async Task PoolGauges_ReadTheAllocatorWhenCollected()
    {
        using var size = new MetricCollector<long>(_meters, LoadBalancerMeter.Name, "littlelb.pool.addresses");
        using var used = new MetricCollector<long>(_meters, LoadBalancerMeter.Name, "littlelb.pool.addresses.used");

        used.RecordObservableInstruments();
        Assert.Equal(0, used.LastMeasurement!.Value);

        await AllocateAsync(Spec("web", 80));
        await AllocateAsync(Spec("admin", 80));
        size.RecordObservableInstruments();
        used.RecordObservableInstruments();

        Assert.Equal((14L, "default"), (size.LastMeasurement!.Value, (string)size.LastMeasurement.Tags["pool"]!));
        Assert.Equal((2L, "default"), (used.LastMeasurement!.Value, (string)used.LastMeasurement.Tags["pool"]!));
    }

    private async Task AllocateAsync(ServiceSpec spec) =>
        await _handler.Handle(new AllocateCommand(spec), CancellationToken.None);
}
