using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// The reconciler's bookkeeping for one term of serving, in one place: what waits, what was told, what keeps failing.
/// What runs is not here: that is the applied-Service registry's, and the allocator's.
/// </summary>
internal sealed class TermState(KeyedWorkQueue<ServiceKey> queue, ServiceConditions conditions)
{
    public KeyedWorkQueue<ServiceKey> Queue { get; } = queue;

    public ParkedServices Parked { get; } = new();

    public ServiceConditions Conditions { get; } = conditions;

    /// <summary>The last failure per Service that is being retried, so that a failure is logged once, not per retry.</summary>
    public ConcurrentDictionary<ServiceKey, string> Failing { get; } = new();

    /// <summary>Services whose record could not be written; logged once until it can.</summary>
    public ConcurrentDictionary<ServiceKey, string> StatusFailing { get; } = new();

    /// <summary>Our IP in the record of a Service that is no longer ours, until the record no longer shows it.</summary>
    public ConcurrentDictionary<ServiceKey, IPAddress> PendingClears { get; } = new();
}
