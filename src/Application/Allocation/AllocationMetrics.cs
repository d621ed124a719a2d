using System.Diagnostics.Metrics;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Domain.Allocation;

namespace LoadBalancer.Application.Allocation;

/// <summary>
/// What the allocator does and holds: each request's outcome (labels: result, reason; a handful of values each), and per
/// pool its size and the addresses in use, read from the allocator when metrics are collected.
/// </summary>
public sealed class AllocationMetrics : IMetricsInstrumentation
{
    private readonly Counter<long> _allocations;

    public AllocationMetrics(IMeterFactory meters, IAllocationRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var meter = LoadBalancerMeter.Create(meters);
        _allocations = meter.CreateCounter<long>(
            "littlelb.allocations", "{allocation}", "Allocation requests by result (allocated, refused) and reason (how the IP was found, or why it was refused).");
        meter.CreateObservableGauge(
            "littlelb.pool.addresses", () => Pools(registry, pool => Saturated(pool.Size)), "{address}", "Addresses a pool can hand out.");
        meter.CreateObservableGauge(
            "littlelb.pool.addresses.used", () => Pools(registry, pool => pool.Used), "{address}", "Addresses of a pool held by at least one Service.");
    }

    public void Allocated(AllocationReason reason) =>
        _allocations.Add(1, new KeyValuePair<string, object?>("result", "allocated"), new KeyValuePair<string, object?>("reason", LoadBalancerMeter.Label(reason)));

    public void Refused(RefusalKind kind) =>
        _allocations.Add(1, new KeyValuePair<string, object?>("result", "refused"), new KeyValuePair<string, object?>("reason", LoadBalancerMeter.Label(kind)));

    private static IEnumerable<Measurement<long>> Pools(IAllocationRegistry registry, Func<PoolUsage, long> value) =>
        registry.Pools.Select(pool => new Measurement<long>(value(pool), new KeyValuePair<string, object?>("pool", pool.Name)));

    private static long Saturated(UInt128 size) => size > long.MaxValue ? long.MaxValue : (long)size;
}
