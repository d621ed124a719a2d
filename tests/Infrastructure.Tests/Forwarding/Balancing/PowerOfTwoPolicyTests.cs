using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Balancing;

public sealed class PowerOfTwoPolicyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Pick_TwoCandidates_NeverChoosesTheBusierOne(int busier)
    {
        var backends = TestBackends.Many(2);
        backends[busier].WithActive(3);
        var policy = new PowerOfTwoPolicy();

        var picks = Enumerable.Range(0, 500).Select(_ => policy.Pick(backends, null)).Distinct();

        Assert.Equal([backends[1 - busier]], picks);
    }

    [Fact]
    public void Pick_ThreeCandidatesOfDifferentLoad_NeverChoosesTheBusiest()
    {
        // Only a pair of the busiest with itself could choose it: the two picks must be distinct.
        BackendState[] backends = [TestBackends.Create("10.0.0.1").WithActive(1), TestBackends.Create("10.0.0.2").WithActive(9), TestBackends.Create("10.0.0.3")];
        var policy = new PowerOfTwoPolicy();

        var picks = Enumerable.Range(0, 2_000).Select(_ => policy.Pick(backends, null)).ToHashSet();

        Assert.DoesNotContain(backends[1], picks);
        Assert.Contains(backends[0], picks);
    }

    [Fact]
    public void Pick_OneCandidate_ReturnsIt()
    {
        var backend = TestBackends.Create("10.0.0.1").WithActive(4);

        Assert.Same(backend, new PowerOfTwoPolicy().Pick([backend], null));
    }

    [Fact]
    public void Pick_AllIdle_SpreadsOverEveryCandidate()
    {
        var backends = TestBackends.Many(4);
        var policy = new PowerOfTwoPolicy();

        var counts = Enumerable.Range(0, 4_000).Select(_ => policy.Pick(backends, null)).CountBy(backend => backend).ToDictionary();

        // Each gets 1000 on average; 600 is many standard deviations below.
        Assert.All(backends, backend => Assert.InRange(counts.GetValueOrDefault(backend), 600, 1_400));
    }

    [Fact]
    public void Pick_ConnectionsStayOpen_KeepsTheLoadClose()
    {
        var backends = TestBackends.Many(5);
        var policy = new PowerOfTwoPolicy();

        Parallel.For(0, 4, _ =>
        {
            for (var connection = 0; connection < 250; connection++)
            {
                policy.Pick(backends, null).Counters.ConnectionOpened();
            }
        });

        var active = backends.Select(backend => backend.Counters.Active).ToList();
        Assert.Equal(1_000, active.Sum());
        Assert.InRange(active.Max() - active.Min(), 0, 10);
    }
}
