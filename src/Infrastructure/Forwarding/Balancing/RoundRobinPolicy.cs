using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>Each new connection goes to the next candidate in turn.</summary>
internal sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    private RotatingIndex _next;

    public string Name => LoadBalancingPolicyNames.RoundRobin;

    public BackendState Pick(ReadOnlySpan<BackendState> candidates, IPEndPoint? client) => candidates[_next.Next(candidates.Length)];
}
