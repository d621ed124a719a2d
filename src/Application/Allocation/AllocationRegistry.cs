using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Allocation;

/// <summary>
/// Serialises access to the allocator. A lock is fine here: allocation runs once per Service change, never per
/// connection, and each call is O(log n).
/// </summary>
internal sealed class AllocationRegistry : IAllocationRegistry
{
    private readonly Lock _gate = new();
    private readonly IpAllocator _allocator;

    public AllocationRegistry(IOptions<AllocationOptions> options)
        : this(PoolFactory.Create(options.Value))
    {
    }

    public AllocationRegistry(IpPool pool)
    {
        _allocator = new IpAllocator(pool);
    }

    public IpPool Pool => _allocator.Pool;

    public AllocationResult Allocate(LoadBalancerRequest request)
    {
        lock (_gate)
        {
            return _allocator.Allocate(request);
        }
    }

    public IpRelease Release(ServiceKey service)
    {
        lock (_gate)
        {
            return _allocator.Release(service);
        }
    }

    public RestoreReport Restore(IReadOnlyList<RestoredAssignment> assignments)
    {
        lock (_gate)
        {
            return _allocator.Restore(assignments);
        }
    }

    public IReadOnlyList<IpLease> Leases()
    {
        lock (_gate)
        {
            return _allocator.Leases();
        }
    }

    public IpAllocation? FindAssignment(ServiceKey service)
    {
        lock (_gate)
        {
            return _allocator.FindAssignment(service);
        }
    }
}
