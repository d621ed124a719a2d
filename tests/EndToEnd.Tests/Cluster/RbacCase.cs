namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>Where a case's daemon forwards: to the worker nodes' NodePorts, or to the EndpointSlices' endpoints.</summary>
internal enum RbacBackends
{
    NodePorts,
    Endpoints,
}

/// <summary>Something the daemon does for the cluster that one right of the manifest makes possible.</summary>
internal enum RbacOutcome
{
    /// <summary>The Service's status holds its IP (it was seen, led for and written).</summary>
    StatusWritten,

    /// <summary>An IPAllocated Event on the Service.</summary>
    EventRecorded,

    /// <summary>
    /// --set-external-ips: the patch of the Service's spec.externalIPs passed authorization. This API server then refuses
    /// it (422, "may not be in the loopback range": the tests' pools are in 127/8), so it is that answer that shows it.
    /// </summary>
    ExternalIpsPatchAuthorized,

    /// <summary>--tag-worker-nodes: the node without the worker label got it (the one --worker-selector asks for).</summary>
    NodeTagged,

    /// <summary>A node created after the daemon's start (seen through the watch) gets the Service's traffic.</summary>
    ForwardsToLateNode,

    /// <summary>An EndpointSlice written after the daemon's start (seen through the watch) is the Service's backend.</summary>
    LateSliceIsABackend,

    /// <summary>
    /// A restarted daemon reads its earlier Events and does not record the same warning (ApplyFailed for an IP outside
    /// the pool) a second time. (A restart records no IPAllocated anyway: it restores the IP, nothing is new.)
    /// </summary>
    NoWarningRepeatedAfterRestart,

    /// <summary>
    /// The refusal of the Service outside the pool, resolved (its loadBalancerIP moved into the pool) and then back, counts
    /// in its first Event's series (count 2) instead of becoming a second Event.
    /// </summary>
    WarningCountedInSeries,
}

/// <summary>
/// One run of the daemon with the manifest's rights, less <see cref="Removed"/> (none: the control, the manifest as it
/// is); <see cref="Lost"/> is what the removed right makes possible, and the run must show it missing.
/// </summary>
/// <param name="ExpiredLease">The Lease exists first, held by a replica that is gone: taking it needs an update.</param>
/// <param name="SetExternalIps">
/// Runs with --set-external-ips, which on a loopback pool keeps every status from being written (the spec patch that
/// goes first is refused), so only its own cases use it.
/// </param>
internal sealed record RbacCase(
    RbacPermission? Removed, RbacBackends Backends, RbacOutcome? Lost = null, bool ExpiredLease = false, bool SetExternalIps = false)
{
    /// <summary>Every right of the manifest with what it makes possible, and one control per kind of backends.</summary>
    public static IReadOnlyDictionary<string, RbacCase> All { get; } = new Dictionary<string, RbacCase>
    {
        ["full manifest, nodeports"] = new(null, RbacBackends.NodePorts),
        ["full manifest, endpoints"] = new(null, RbacBackends.Endpoints),
        ["full manifest, --set-external-ips"] = new(null, RbacBackends.NodePorts, SetExternalIps: true),
        ["services list"] = Without(string.Empty, "services", "list", RbacOutcome.StatusWritten),
        ["services watch"] = Without(string.Empty, "services", "watch", RbacOutcome.StatusWritten),
        ["nodes list"] = Without(string.Empty, "nodes", "list", RbacOutcome.StatusWritten),
        ["nodes watch"] = Without(string.Empty, "nodes", "watch", RbacOutcome.ForwardsToLateNode),
        ["services/status patch"] = Without(string.Empty, "services/status", "patch", RbacOutcome.StatusWritten),
        ["services patch"] = Without(string.Empty, "services", "patch", RbacOutcome.ExternalIpsPatchAuthorized) with { SetExternalIps = true },
        ["nodes patch"] = Without(string.Empty, "nodes", "patch", RbacOutcome.NodeTagged),
        ["endpointslices list"] = Without("discovery.k8s.io", "endpointslices", "list", RbacOutcome.StatusWritten, RbacBackends.Endpoints),
        ["endpointslices watch"] = Without("discovery.k8s.io", "endpointslices", "watch", RbacOutcome.LateSliceIsABackend, RbacBackends.Endpoints),
        ["events create"] = Without("events.k8s.io", "events", "create", RbacOutcome.EventRecorded),
        ["events list"] = Without("events.k8s.io", "events", "list", RbacOutcome.NoWarningRepeatedAfterRestart),
        ["events patch"] = Without("events.k8s.io", "events", "patch", RbacOutcome.WarningCountedInSeries),
        ["leases get"] = Without("coordination.k8s.io", "leases", "get", RbacOutcome.StatusWritten),
        ["leases create"] = Without("coordination.k8s.io", "leases", "create", RbacOutcome.StatusWritten),
        ["leases update"] = Without("coordination.k8s.io", "leases", "update", RbacOutcome.StatusWritten) with { ExpiredLease = true },
    };

    /// <summary>What the daemon must do with every right: all the outcomes its kind of backends can show.</summary>
    public IReadOnlyList<RbacOutcome> Expected => (Backends, SetExternalIps) switch
    {
        (_, true) => [RbacOutcome.ExternalIpsPatchAuthorized],
        (RbacBackends.NodePorts, _) =>
        [
            RbacOutcome.StatusWritten, RbacOutcome.EventRecorded, RbacOutcome.NodeTagged, RbacOutcome.ForwardsToLateNode,
            RbacOutcome.NoWarningRepeatedAfterRestart, RbacOutcome.WarningCountedInSeries,
        ],
        _ => [RbacOutcome.StatusWritten, RbacOutcome.LateSliceIsABackend],
    };

    private static RbacCase Without(string group, string resource, string verb, RbacOutcome lost, RbacBackends backends = RbacBackends.NodePorts) =>
        new(new RbacPermission(group, resource, verb), backends, lost);
}
