using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Filtering;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>Where a listener sends new connections: replaced as a whole, read without a lock by every accept.</summary>
internal sealed record ListenerRoute(BackendSnapshot Backends, ILoadBalancingPolicy Policy, int? MaxConnections)
{
    private readonly bool _sourceHash = Policy.Name == LoadBalancingPolicyNames.SourceHash;

    /// <summary>The Service's source ranges, checked at accept; null when every client may come in.</summary>
    public SourceRangeSet? SourceRanges { get; init; }

    /// <summary>Only source-hash and source ranges look at the client, so only then is the peer address decoded on accept.</summary>
    public bool NeedsClientAddress => _sourceHash || SourceRanges is not null;

    /// <summary>Whether a client at <paramref name="client"/> may come in (always, without source ranges).</summary>
    public bool Admits(IPEndPoint? client) => SourceRanges is not { } ranges || ranges.Allows(client?.Address);
}
