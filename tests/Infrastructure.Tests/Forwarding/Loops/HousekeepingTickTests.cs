using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Loops;

public sealed class HousekeepingTickTests
{
    [Theory]
    [InlineData(5_000, 300_000, 250)]
    [InlineData(200, 300_000, 50)]
    [InlineData(5_000, 20, 10)]
    public void RealClock_WaitsAQuarterOfTheShortestTimeout_Between10And250Ms(int connectMs, int idleMs, int expected)
    {
        var options = new ForwarderOptions { ConnectTimeout = TimeSpan.FromMilliseconds(connectMs), IdleTimeout = TimeSpan.FromMilliseconds(idleMs) };

        var tick = new HousekeepingTick(options, new ForwarderClock(TimeProvider.System));

        Assert.False(tick.IsVirtualClock);
        Assert.Equal(expected, tick.WaitMilliseconds);
    }

    [Fact]
    public void RealClock_IsDueOnceAnIntervalPassed_ThenAnIntervalLater()
    {
        var tick = new HousekeepingTick(new ForwarderOptions { ConnectTimeout = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromMinutes(5) },
            new ForwarderClock(TimeProvider.System));
        tick.Start(now: 1_000);

        Assert.False(tick.Due(1_249));
        Assert.True(tick.Due(1_250));
        Assert.False(tick.Due(1_499));
        Assert.True(tick.Due(1_500));
    }

    [Fact]
    public void VirtualClock_PollsEvery5Ms_AndIsDueOnEveryWakeUp()
    {
        var tick = new HousekeepingTick(new ForwarderOptions(), new ForwarderClock(new FakeTimeProvider()));
        tick.Start(now: 0);

        Assert.True(tick.IsVirtualClock);
        Assert.Equal(5, tick.WaitMilliseconds);
        Assert.True(tick.Due(0));
        Assert.True(tick.Due(1));
    }
}
