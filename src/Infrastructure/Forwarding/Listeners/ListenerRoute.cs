using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Filtering;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>Where a listener sends new connections: replaced as a whole, read without a lock by every accept.</summary>
/// <param name="Affinity">The client-IP affinity table (<c>sessionAffinity: ClientIP</c>); it outlives route swaps. Null: none.</param>
internal sealed record ListenerRoute(BackendSnapshot Backends, ILoadBalancingPolicy Policy, int? MaxConnections, ClientAffinityTable? Affinity = null)
{
    private readonly bool _sourceHash = Policy.Name == LoadBalancingPolicyNames.SourceHash;

    /// <summary>The Service's source ranges, checked at accept; null when every client may come in.</summary>
    public SourceRangeSet? SourceRanges { get; init; }

    /// <summary>Only affinity, source-hash and source ranges look at the client, so only then is the peer address decoded on accept.</summary>
    public bool NeedsClientAddress => Affinity is not null || _sourceHash || SourceRanges is not null;

    /// <summary>Whether a client at <paramref name="client"/> may come in (always, without source ranges).</summary>
    public bool Admits(IPEndPoint? client) => SourceRanges is not { } ranges || ranges.Allows(client?.Address);

    /// <summary>UDP: a flow with no datagram either way for this long is closed.</summary>
    public TimeSpan FlowIdleTimeout { get; init; } = ForwarderOptions.DefaultUdpFlowIdleTimeout;

    /// <summary>The PROXY protocol header each new backend connection starts with; the engines need the client's address for it too.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }
}
