using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

public sealed class ConnectionBudgetTests
{
    [Theory]
    // 256 − 126 open − 64 reserved = 66 descriptors: 33 connections of two, 11 of six.
    [InlineData(256UL, 126, 2, 33L)]
    [InlineData(256UL, 126, 6, 11L)]
    // 1024 − 100 − 128 (an eighth) = 796: 398 of two.
    [InlineData(1024UL, 100, 2, 398L)]
    // No room left: still one at a time rather than none.
    [InlineData(128UL, 120, 2, 1L)]
    public void Compute_LeavesTheReserveAndWhatIsOpen(ulong soft, int open, int perConnection, long expected) =>
        Assert.Equal(expected, ConnectionBudget.Compute(new DescriptorLimits(soft, soft), open, perConnection));

    [Fact]
    public void Compute_UnknownOrUnlimited_HasNoBudget()
    {
        Assert.Equal(long.MaxValue, ConnectionBudget.Compute(null, 100, 2));
        Assert.Equal(long.MaxValue, ConnectionBudget.Compute(new DescriptorLimits(FileDescriptorLimit.Unlimited, FileDescriptorLimit.Unlimited), 100, 2));
    }

    [Fact]
    public void TryTake_RefusesPastTheLimit_UntilAPlaceIsReturned()
    {
        // 200 − 0 − 64 = 136 descriptors, 68 places of two.
        var budget = new ConnectionBudget(2, () => new DescriptorLimits(200, 200), () => 0);
        for (var i = 0; i < 68; i++)
        {
            Assert.True(budget.TryTake());
        }

        Assert.False(budget.TryTake());
        Assert.Equal(68, budget.Open);
        budget.Return();
        Assert.True(budget.TryTake());
        Assert.False(budget.TryTake());
    }

    [Fact]
    public void Limit_IsComputedOnFirstUse_FromWhatIsOpenThen()
    {
        var open = 1000;
        var budget = new ConnectionBudget(2, () => new DescriptorLimits(1200, 1200), () => open);
        open = 100;
        // 1200 − 100 − 150 = 950 → 475.
        Assert.Equal(475, budget.Limit);
        open = 1100;
        Assert.Equal(475, budget.Limit);
    }

    [Fact]
    public void Limits_AreThoseTheBudgetWasComputedFrom_EvenWhenTheLimitChangedSince()
    {
        var soft = 1200UL;
        var budget = new ConnectionBudget(2, () => new DescriptorLimits(soft, 4096), () => 100);
        Assert.Equal(new DescriptorLimits(1200, 4096), budget.Limits);

        _ = budget.Limit;
        soft = 4096;

        Assert.Equal(new DescriptorLimits(1200, 4096), budget.Limits);
        Assert.Equal(475, budget.Limit);
    }
}
