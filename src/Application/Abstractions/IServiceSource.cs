using System.Net;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Abstractions;

/// <summary>
/// Where the Services to serve come from: the cluster's informers or the standalone file. A source reads its world,
/// maps each Service to what it wants served, and tells the <see cref="IReconcileQueue"/> which Services to look at
/// again when something changes; the reconciler reads the current answer when it gets to them (level-triggered), so a
/// change seen twice, late or out of order converges all the same.
/// </summary>
public interface IServiceSource
{
    /// <summary>Completes once the source has read its world (the caches listed, the file read); faults when it cannot start.</summary>
    Task Ready { get; }

    /// <summary>Reads and follows its world until <paramref name="stopping"/> is cancelled; then returns.</summary>
    Task RunAsync(CancellationToken stopping);

    /// <summary>The Services the source wants served now.</summary>
    IReadOnlyCollection<ServiceKey> Keys();

    /// <summary>What the source wants for <paramref name="service"/> now; null when it wants nothing (deleted, not ours).</summary>
    DesiredService? Find(ServiceKey service);

    /// <summary>The IPs the source's record shows for <paramref name="service"/> now (its status, the state file), primary first; empty when none.</summary>
    IReadOnlyList<IPAddress> RecordedIps(ServiceKey service);

    /// <summary>The Services it wants with the IPs their records already hold, one entry per IP (a dual-stack Service has two, primary first): restored before anything is allocated.</summary>
    IReadOnlyList<RestoredService> Recorded();
}
