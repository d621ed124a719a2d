using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>A Service the source wants that this replica does not serve as asked, and why, as operators were told.</summary>
/// <param name="Reason">Null for <see cref="UnservedKind.Pending"/>.</param>
/// <param name="Spec">What it asks for: the spec that was refused or found invalid, else the source's current one (null when the source no longer has it).</param>
public sealed record UnservedService(ServiceKey Service, UnservedKind Kind, string? Reason, ServiceSpec? Spec);

public enum UnservedKind
{
    /// <summary>The allocator said no (its IP:port is taken, the pool is full, the IP is outside it): waits for a release or an edit.</summary>
    Refused,

    /// <summary>It cannot be served as written: waits for an edit.</summary>
    Invalid,

    /// <summary>An apply failed in a way a later attempt may not (a port that would not bind, a link device that said no): retried.</summary>
    Failing,

    /// <summary>Wanted and not reconciled yet, or waiting in the queue.</summary>
    Pending,
}
