using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>Where a listener sends new connections: replaced as a whole, read without a lock by every accept.</summary>
internal sealed record ListenerRoute(BackendSnapshot Backends, ILoadBalancingPolicy Policy, int? MaxConnections)
{
    /// <summary>Only source-hash looks at the client, so only then is the peer address decoded on accept.</summary>
    public bool NeedsClientAddress { get; } = Policy.Name == LoadBalancingPolicyNames.SourceHash;

    /// <summary>The PROXY protocol header each new backend connection starts with; the engines need the client's address for it too.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }
}
