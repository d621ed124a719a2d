using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Balancing;

public sealed class LeastConnectionsPolicyTests
{
    [Fact]
    public void Pick_DifferentLoads_AlwaysChoosesTheFewestActive()
    {
        BackendState[] backends = [TestBackends.Create("10.0.0.1").WithActive(5), TestBackends.Create("10.0.0.2").WithActive(1), TestBackends.Create("10.0.0.3").WithActive(3)];
        var policy = new LeastConnectionsPolicy();

        var picks = Enumerable.Range(0, 10).Select(_ => policy.Pick(backends, null)).Distinct();

        Assert.Equal([backends[1]], picks);
    }

    [Fact]
    public void Pick_AllIdle_TakesTurnsInsteadOfPilingOnOne()
    {
        var backends = TestBackends.Many(4);
        var policy = new LeastConnectionsPolicy();

        var picks = Enumerable.Range(0, 4).Select(_ => policy.Pick(backends, null)).ToHashSet();

        Assert.Equal(4, picks.Count);
    }

    [Fact]
    public void Pick_ConnectionsStayOpen_SpreadsThemEvenly()
    {
        var backends = TestBackends.Many(3);
        backends[0].WithActive(6);
        var policy = new LeastConnectionsPolicy();

        for (var connection = 0; connection < 24; connection++)
        {
            policy.Pick(backends, null).Counters.ConnectionOpened();
        }

        Assert.Equal([10L, 10L, 10L], backends.Select(backend => backend.Counters.Active));
    }

    [Fact]
    public void Pick_LoadChangesBetweenPicks_FollowsTheCurrentCounts()
    {
        var backends = TestBackends.Many(2);
        var policy = new LeastConnectionsPolicy();
        backends[0].WithActive(2);

        var first = policy.Pick(backends, null);
        backends[0].Counters.ConnectionClosed();
        backends[0].Counters.ConnectionClosed();
        backends[1].WithActive(1);
        var second = policy.Pick(backends, null);

        Assert.Equal((backends[1], backends[0]), (first, second));
    }

    [Fact]
    public void Pick_ManyThreadsOpeningAndClosing_OnlyReturnsCandidates()
    {
        var backends = TestBackends.Many(4);
        var policy = new LeastConnectionsPolicy();

        Parallel.For(0, 8, _ =>
        {
            for (var pick = 0; pick < 2_000; pick++)
            {
                var chosen = policy.Pick(backends, null);
                Assert.Contains(chosen, backends);
                chosen.Counters.ConnectionOpened();
                chosen.Counters.ConnectionClosed();
            }
        });

        Assert.All(backends, backend => Assert.Equal(0, backend.Counters.Active));
    }
}
