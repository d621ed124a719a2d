using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>The policies by their operator names (<see cref="LoadBalancingPolicyNames"/>).</summary>
internal static class LoadBalancingPolicies
{
    /// <summary>A new policy for one listener; false for a name that is not known (report
    /// <see cref="LoadBalancingPolicyNames.UnknownMessage"/>).</summary>
    public static bool TryCreate(string? name, [NotNullWhen(true)] out ILoadBalancingPolicy? policy)
    {
        policy = name switch
        {
            LoadBalancingPolicyNames.RoundRobin => new RoundRobinPolicy(),
            LoadBalancingPolicyNames.LeastConnections => new LeastConnectionsPolicy(),
            LoadBalancingPolicyNames.PowerOfTwo => new PowerOfTwoPolicy(),
            LoadBalancingPolicyNames.SourceHash => new SourceHashPolicy(),
            _ => null,
        };
        return policy is not null;
    }
}
