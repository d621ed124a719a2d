using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Balancing;

public sealed class RoundRobinPolicyTests
{
    [Fact]
    public void Pick_Repeatedly_WalksTheCandidatesInOrderAndAround()
    {
        var backends = TestBackends.Many(3);
        var policy = new RoundRobinPolicy();

        var picks = Enumerable.Range(0, 7).Select(_ => policy.Pick(backends, null)).ToList();

        Assert.Equal([backends[0], backends[1], backends[2], backends[0], backends[1], backends[2], backends[0]], picks);
    }

    [Fact]
    public void Pick_ManyThreadsAtOnce_GivesEveryCandidateExactlyItsShare()
    {
        var backends = TestBackends.Many(3);
        var policy = new RoundRobinPolicy();
        var counts = new int[backends.Length];

        Parallel.For(0, 8, _ =>
        {
            for (var pick = 0; pick < 3_000; pick++)
            {
                var chosen = policy.Pick(backends, null);
                Interlocked.Increment(ref counts[Array.IndexOf(backends, chosen)]);
            }
        });

        Assert.Equal([8_000, 8_000, 8_000], counts);
    }

    [Fact]
    public void Pick_CandidateSetShrinks_PicksOnlyFromTheNewSet()
    {
        var backends = TestBackends.Many(5);
        var policy = new RoundRobinPolicy();
        for (var pick = 0; pick < 4; pick++)
        {
            policy.Pick(backends, null);
        }

        var fewer = backends[..2];
        var picks = Enumerable.Range(0, 4).Select(_ => policy.Pick(fewer, null)).ToHashSet();

        Assert.Equal(fewer.ToHashSet(), picks);
    }
}
