using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>The candidate with the fewest open connections.</summary>
internal sealed class LeastConnectionsPolicy : ILoadBalancingPolicy
{
    private RotatingIndex _start;

    public string Name => LoadBalancingPolicyNames.LeastConnections;

    public BackendState Pick(ReadOnlySpan<BackendState> candidates, IPEndPoint? client)
    {
        // The scan starts at a rotating position and keeps the first of equals, so that backends with the same count
        // (all of them, when idle) take turns instead of the first one taking every burst of new connections.
        var count = candidates.Length;
        var start = _start.Next(count);
        var best = candidates[start];
        var fewest = best.Counters.Active;
        for (var offset = 1; offset < count && fewest > 0; offset++)
        {
            var index = start + offset;
            var candidate = candidates[index >= count ? index - count : index];
            var active = candidate.Counters.Active;
            if (active < fewest)
            {
                best = candidate;
                fewest = active;
            }
        }

        return best;
    }
}
