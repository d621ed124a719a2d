using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Allocation;

/// <summary>
/// The one allocator of the process, safe to call from many threads: concurrent calls never give one IP:port to two
/// services.
/// </summary>
public interface IAllocationRegistry
{
    IpPool Pool { get; }

    AllocationResult Allocate(LoadBalancerRequest request);

    IpRelease Release(ServiceKey service);

    RestoreReport Restore(IReadOnlyList<RestoredAssignment> assignments);

    IReadOnlyList<IpLease> Leases();

    IpAllocation? FindAssignment(ServiceKey service);
}
