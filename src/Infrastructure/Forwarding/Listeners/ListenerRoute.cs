using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>Where a listener sends new connections: replaced as a whole, read without a lock by every accept.</summary>
/// <param name="Affinity">The client-IP affinity table (<c>sessionAffinity: ClientIP</c>); it outlives route swaps. Null: none.</param>
internal sealed record ListenerRoute(BackendSnapshot Backends, ILoadBalancingPolicy Policy, int? MaxConnections, ClientAffinityTable? Affinity = null)
{
    /// <summary>Only affinity and source-hash look at the client, so only then is the peer address decoded on accept.</summary>
    public bool NeedsClientAddress { get; } = Affinity is not null || Policy.Name == LoadBalancingPolicyNames.SourceHash;

    /// <summary>UDP: a flow with no datagram either way for this long is closed.</summary>
    public TimeSpan FlowIdleTimeout { get; init; } = ForwarderOptions.DefaultUdpFlowIdleTimeout;
}
