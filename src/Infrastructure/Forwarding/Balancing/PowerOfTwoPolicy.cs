using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>
/// Two candidates at random, the one with fewer open connections: nearly the spread of least-connections without
/// every listener thread reading every backend's counter, and without herding onto one idle backend.
/// </summary>
internal sealed class PowerOfTwoPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicyNames.PowerOfTwo;

    public BackendState Pick(ReadOnlySpan<BackendState> candidates, IPEndPoint? client)
    {
        var count = candidates.Length;
        if (count == 1)
        {
            return candidates[0];
        }

        var random = Random.Shared;
        var first = random.Next(count);
        var second = random.Next(count - 1);
        if (second >= first)
        {
            // Skips over the first pick, so the two are distinct and every pair is equally likely.
            second++;
        }

        var a = candidates[first];
        var b = candidates[second];
        return b.Counters.Active < a.Counters.Active ? b : a;
    }
}
