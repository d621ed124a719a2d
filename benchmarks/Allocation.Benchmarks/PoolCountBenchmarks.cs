using BenchmarkDotNet.Attributes;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Allocation.Benchmarks;

/// <summary>How a request finds its pool.</summary>
public enum PoolChoice
{
    /// <summary>No annotation: the first pool with room, so with 10 pools most requests first try full pools.</summary>
    Unasked,

    /// <summary><c>littlelb.io/pool</c> on every Service, spread evenly over the pools.</summary>
    ByName,
}

/// <summary>
/// The churn of <see cref="ChurnBenchmarks"/> (10,000 live services, then 10,000 cycles of release a random one and
/// allocate a new one) through <see cref="PoolAllocator"/>, with one pool (a /16) or ten (ten /20s), in the same run:
/// the difference is what finding the pool costs.
/// </summary>
[Config(typeof(AllocationBenchmarkConfig))]
public class PoolCountBenchmarks
{
    private const int Existing = 10_000;
    private const int Cycles = 10_000;
    private const int Seed = 20_260_503;

    private LoadBalancerRequest[] _existing = [];
    private LoadBalancerRequest[] _arriving = [];
    private int[] _victims = [];
    private ServiceKey[] _live = [];
    private AddressPool[] _pools = [];
    private PoolAllocator _allocator = null!;

    [Params(1, 10)]
    public int Pools { get; set; }

    [Params(PortMix.SinglePort, PortMix.Mixed)]
    public PortMix Ports { get; set; }

    [ParamsAllValues]
    public PoolChoice Choice { get; set; }

    [GlobalSetup]
    public void BuildRequests()
    {
        // One /16, or ten /20s (4,094 addresses each): room for every single-port service either way.
        _pools = Pools == 1
            ? [new AddressPool(AddressPool.DefaultName, Workload.Pool)]
            : [.. Enumerable.Range(0, Pools).Select(i => new AddressPool(i == 0 ? AddressPool.DefaultName : $"pool-{i}", Parse($"10.0.{i * 16}.0/20")))];
        var random = new Random(Seed);
        _existing = Ask(Workload.Requests(0, Existing, Ports, random));
        _arriving = Ask(Workload.Requests(Existing, Cycles, Ports, random));
        _victims = [.. Enumerable.Range(0, Cycles).Select(_ => random.Next(Existing))];
    }

    [IterationSetup]
    public void AllocateExisting()
    {
        _allocator = new PoolAllocator(_pools);
        foreach (var request in _existing)
        {
            Allocate(request);
        }

        _live = [.. _existing.Select(request => request.Service)];
    }

    [Benchmark(OperationsPerInvoke = Cycles)]
    public int ReleaseRandomThenAllocateNew()
    {
        for (var i = 0; i < Cycles; i++)
        {
            var slot = _victims[i];
            if (!_allocator.Release(_live[slot]).WasAllocated)
            {
                throw new InvalidOperationException($"benchmark service {_live[slot]} was not allocated");
            }

            var request = _arriving[i];
            Allocate(request);
            _live[slot] = request.Service;
        }

        return _allocator.IpCount;
    }

    private void Allocate(LoadBalancerRequest request)
    {
        var result = _allocator.Allocate(request);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"benchmark request refused: {result.Refusal}");
        }
    }

    private LoadBalancerRequest[] Ask(LoadBalancerRequest[] requests) => Choice == PoolChoice.Unasked
        ? requests
        : [.. requests.Select((request, i) => new LoadBalancerRequest(
            request.Service, request.Ports, null, request.Sharing, request.CreatedAt, _pools[i % _pools.Length].Name))];

    private static IpPool Parse(string cidr) =>
        IpPool.Parse(cidr).Pool ?? throw new InvalidOperationException($"pool {cidr} does not parse");
}
