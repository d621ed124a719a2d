using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>Why the allocator chose the IP it gave.</summary>
public enum AllocationReason
{
    /// <summary>The service's explicit loadBalancerIP.</summary>
    Requested,

    /// <summary>An IP already used by other services, on which all of this service's ports were free.</summary>
    Reused,

    /// <summary>An IP nobody used: the lowest free one.</summary>
    New,

    /// <summary>The service keeps the IP it already had.</summary>
    Kept,
}

public enum RefusalKind
{
    OutsidePool,
    NetworkOrBroadcast,
    Excluded,
    PortInUse,
    NotShareable,
    PoolExhausted,

    /// <summary>The Service asks for a pool by a name no pool has.</summary>
    UnknownPool,

    /// <summary>The pool asked for (by name or by an address in it) does not admit the Service's namespace or labels,
    /// or no pool that assigns automatically does.</summary>
    NotAdmitted,

    /// <summary>No pool (or not the pool asked for) has addresses of a family the Service needs.</summary>
    FamilyUnavailable,
}

/// <summary>An IP given to a service, with all of its ports bound on it.</summary>
/// <param name="Changed">False when the request was already satisfied and nothing moved.</param>
/// <param name="VacatedIp">The service's previous IP when it moved and nobody uses that IP any more.</param>
public sealed record IpAllocation(
    ServiceKey Service,
    IPAddress Ip,
    AllocationReason Reason,
    IReadOnlyList<PortBinding> Bindings,
    bool Changed,
    IPAddress? VacatedIp = null);

/// <summary>Why a request got no IP. <see cref="Message"/> is the full log line operators search for.</summary>
public sealed record AllocationRefusal(ServiceKey Service, RefusalKind Kind, string Reason, string Message)
{
    public override string ToString() => Message;
}

public sealed record AllocationResult
{
    private AllocationResult(IpAllocation? allocation, AllocationRefusal? refusal)
    {
        Allocation = allocation;
        Refusal = refusal;
    }

    public IpAllocation? Allocation { get; }

    public AllocationRefusal? Refusal { get; }

    public bool Succeeded => Allocation is not null;

    public static AllocationResult Allocated(IpAllocation allocation) => new(allocation, null);

    public static AllocationResult Refused(AllocationRefusal refusal) => new(null, refusal);
}

/// <summary>What releasing a service freed.</summary>
/// <param name="IpUnused">True when no service uses the IP any more (so it can leave the link device).</param>
public sealed record IpRelease(ServiceKey Service, IPAddress? Ip, IReadOnlyList<PortBinding> Freed, bool IpUnused)
{
    public bool WasAllocated => Ip is not null;
}

/// <summary>An assignment read back from a running system (a Service's status) to seed the allocator with.</summary>
public sealed record RestoredAssignment(LoadBalancerRequest Request, IPAddress Ip);

/// <summary>An assignment that could not be restored, and the service holding the IP when that is the cause.</summary>
public sealed record RestoreConflict(ServiceKey Service, IPAddress Ip, string Reason, ServiceKey? HeldBy);

public sealed record RestoreReport(IReadOnlyList<IpAllocation> Restored, IReadOnlyList<RestoreConflict> Conflicts);

/// <summary>One pool as the registry shows it: its name, its addresses, and how many of them are in use.</summary>
public sealed record PoolUsage(string Name, IpPool Addresses, UInt128 Size, int Used)
{
    public UInt128 Free => Size - (UInt128)Used;
}

/// <summary>What replacing the pool set did: applied, or refused with every reason and nothing changed.</summary>
public sealed record PoolReconfiguration(bool Applied, IReadOnlyList<string> Problems)
{
    public static PoolReconfiguration Done { get; } = new(true, []);

    public static PoolReconfiguration Refused(IReadOnlyList<string> problems) => new(false, problems);
}
