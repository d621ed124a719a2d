using BenchmarkDotNet.Attributes;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Allocation.Benchmarks;

/// <summary>
/// With <see cref="Existing"/> services already allocated on a /16 (done in [IterationSetup], not measured), 10,000
/// cycles of: release a random live service, allocate a new one. One operation is one cycle; if a request scanned every
/// lease, the Mean would grow with <see cref="Existing"/>.
/// </summary>
[Config(typeof(AllocationBenchmarkConfig))]
public class ChurnBenchmarks
{
    private const int Cycles = 10_000;
    private const int Seed = 20_260_502;

    private LoadBalancerRequest[] _existing = [];
    private LoadBalancerRequest[] _arriving = [];
    private int[] _victims = [];
    private ServiceKey[] _live = [];
    private IpAllocator _allocator = null!;

    /// <summary>Services allocated before the churn starts; 50,000 single-port services still fit in a /16.</summary>
    [Params(1_000, 10_000, 50_000)]
    public int Existing { get; set; }

    [ParamsAllValues]
    public PortMix Ports { get; set; }

    [GlobalSetup]
    public void BuildRequests()
    {
        var random = new Random(Seed);
        _existing = Workload.Requests(0, Existing, Ports, random);
        _arriving = Workload.Requests(Existing, Cycles, Ports, random);
        // Cycle i releases the service in slot _victims[i] of the live set and puts the new one in that slot.
        _victims = [.. Enumerable.Range(0, Cycles).Select(_ => random.Next(Existing))];
    }

    [IterationSetup]
    public void AllocateExisting()
    {
        _allocator = new IpAllocator(Workload.Pool);
        foreach (var request in _existing)
        {
            Workload.Allocate(_allocator, request);
        }

        _live = [.. _existing.Select(request => request.Service)];
    }

    [Benchmark(OperationsPerInvoke = Cycles)]
    public int ReleaseRandomThenAllocateNew()
    {
        for (var i = 0; i < Cycles; i++)
        {
            var slot = _victims[i];
            Workload.Release(_allocator, _live[slot]);
            var request = _arriving[i];
            Workload.Allocate(_allocator, request);
            _live[slot] = request.Service;
        }

        return _allocator.IpCount;
    }
}
