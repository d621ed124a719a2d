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

    /// <summary>One IP per family the request gets (<see cref="DualStackAllocator"/>), primary first.</summary>
    StackAllocationResult Allocate(LoadBalancerRequest request);

    /// <summary>Releases every family the Service holds; one entry per IP it had.</summary>
    IReadOnlyList<IpRelease> Release(ServiceKey service);

    RestoreReport Restore(IReadOnlyList<RestoredAssignment> assignments);

    IReadOnlyList<IpLease> Leases();

    /// <summary>The Service's assignments, primary first; empty when it holds none.</summary>
    IReadOnlyList<IpAllocation> FindAssignments(ServiceKey service);

    /// <summary>Replaces the pools at once, keeping every lease; refused, changing nothing, when a lease would not fit.</summary>
    PoolReconfiguration Reconfigure(IReadOnlyList<AddressPool> pools);
}
