using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Allocation;

/// <summary>
/// The one allocator of the process, safe to call from many threads: concurrent calls never give one IP:port to two
/// services.
/// </summary>
public interface IAllocationRegistry
{
    /// <summary>Every pool in order (<c>default</c> first), with its addresses and how many are in use now.</summary>
    IReadOnlyList<PoolUsage> Pools { get; }

    AllocationResult Allocate(LoadBalancerRequest request);

    IpRelease Release(ServiceKey service);

    RestoreReport Restore(IReadOnlyList<RestoredAssignment> assignments);

    IReadOnlyList<IpLease> Leases();

    IpAllocation? FindAssignment(ServiceKey service);

    /// <summary>Replaces the pools at once, keeping every lease; refused, changing nothing, when a lease would not fit.</summary>
    PoolReconfiguration Reconfigure(IReadOnlyList<AddressPool> pools);
}
