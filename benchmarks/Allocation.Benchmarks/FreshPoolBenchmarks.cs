using BenchmarkDotNet.Attributes;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Allocation.Benchmarks;

/// <summary>
/// 10,000 allocations then 10,000 releases on an empty /16. One operation is one allocation plus one release, so the
/// Mean column is the cost of a service's whole lifetime in the allocator.
/// </summary>
[Config(typeof(AllocationBenchmarkConfig))]
public class FreshPoolBenchmarks
{
    private const int Services = 10_000;
    private const int Seed = 20_260_501;

    private LoadBalancerRequest[] _singlePort = [];
    private LoadBalancerRequest[] _mixed = [];
    private ServiceKey[] _mixedReleaseOrder = [];
    private IpAllocator _allocator = null!;

    [GlobalSetup]
    public void BuildRequests()
    {
        var random = new Random(Seed);
        _singlePort = Workload.Requests(0, Services, PortMix.SinglePort, random);
        _mixed = Workload.Requests(0, Services, PortMix.Mixed, random);
        _mixedReleaseOrder = [.. Workload.Permutation(Services, random).Select(i => _mixed[i].Service)];
    }

    [IterationSetup]
    public void CreateAllocator() => _allocator = new IpAllocator(Workload.Pool);

    /// <summary>Every service takes a new IP, so this exercises the free-address cursor and the returned-address set.</summary>
    [Benchmark(OperationsPerInvoke = Services)]
    public int SinglePort_AllocateThenReleaseInOrder()
    {
        foreach (var request in _singlePort)
        {
            Workload.Allocate(_allocator, request);
        }

        var peak = _allocator.IpCount;
        foreach (var request in _singlePort)
        {
            Workload.Release(_allocator, request.Service);
        }

        return peak;
    }

    /// <summary>Services share IPs wherever their ports differ; releases in a seeded random order leave holes to reuse.</summary>
    [Benchmark(OperationsPerInvoke = Services)]
    public int MixedPorts_AllocateThenReleaseInRandomOrder()
    {
        foreach (var request in _mixed)
        {
            Workload.Allocate(_allocator, request);
        }

        var peak = _allocator.IpCount;
        foreach (var service in _mixedReleaseOrder)
        {
            Workload.Release(_allocator, service);
        }

        return peak;
    }
}
