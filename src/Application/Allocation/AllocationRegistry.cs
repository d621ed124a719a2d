using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Allocation;

/// <summary>
/// Serialises access to the allocator. A lock is fine here: allocation runs once per Service change, never per
/// connection, and each call is O(log n). A reconfiguration takes the same lock, so no request sees half a pool set.
/// </summary>
internal sealed class AllocationRegistry : IAllocationRegistry
{
    private readonly Lock _gate = new();
    private readonly DualStackAllocator _allocator;

    public AllocationRegistry(IOptions<AllocationOptions> options)
        : this(PoolSetFactory.Create(options.Value))
    {
    }

    /// <summary>One pool named <c>default</c>.</summary>
    public AllocationRegistry(IpPool pool)
        : this([new AddressPool(AddressPool.DefaultName, pool)])
    {
    }

    public AllocationRegistry(IReadOnlyList<AddressPool> pools)
    {
        _allocator = new DualStackAllocator(pools);
    }

    public IReadOnlyList<PoolUsage> Pools
    {
        get
        {
            lock (_gate)
            {
                return _allocator.Pools;
            }
        }
    }

    public StackAllocationResult Allocate(LoadBalancerRequest request)
    {
        lock (_gate)
        {
            return _allocator.Allocate(request);
        }
    }

    public IReadOnlyList<IpRelease> Release(ServiceKey service)
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

    public IReadOnlyList<IpAllocation> FindAssignments(ServiceKey service)
    {
        lock (_gate)
        {
            return _allocator.FindAssignments(service);
        }
    }

    /// <summary>The Service's primary assignment, if any.</summary>
    public IpAllocation? FindAssignment(ServiceKey service) => FindAssignments(service) is [var primary, ..] ? primary : null;

    public PoolReconfiguration Reconfigure(IReadOnlyList<AddressPool> pools)
    {
        lock (_gate)
        {
            return _allocator.Reconfigure(pools);
        }
    }
}
