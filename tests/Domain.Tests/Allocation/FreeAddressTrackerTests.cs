using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Allocation;

public sealed class FreeAddressTrackerTests
{
    private static IpNumber N(string ip) => IpNumber.From(Ip(ip));

    private static List<string> TakeAll(FreeAddressTracker tracker)
    {
        var taken = new List<string>();
        while (tracker.TryTakeLowest(out var address))
        {
            taken.Add(address.ToString());
        }

        return taken;
    }

    [Fact]
    public void TryTakeLowest_WalksEveryRangeInOrderThenRunsOut()
    {
        var tracker = new FreeAddressTracker(Pool("2001:db8::/127, 10.0.0.10, 10.0.0.1-10.0.0.2"));

        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.10", "2001:db8::", "2001:db8::1"], TakeAll(tracker));
        Assert.False(tracker.TryTakeLowest(out _));
    }

    [Fact]
    public void TryTakeLowest_ReturnedAddresses_ComeBackLowestFirstBeforeNewOnes()
    {
        var tracker = new FreeAddressTracker(Pool("10.0.0.1-10.0.0.9"));
        for (var i = 0; i < 5; i++)
        {
            tracker.TryTakeLowest(out _);
        }

        tracker.Return(N("10.0.0.4"));
        tracker.Return(N("10.0.0.2"));

        Assert.Equal(["10.0.0.2", "10.0.0.4", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9"], TakeAll(tracker));
    }

    [Fact]
    public void TryTake_AddressAboveCursor_IsSkippedByTheCursor()
    {
        var tracker = new FreeAddressTracker(Pool("10.0.0.1-10.0.0.5"));

        Assert.True(tracker.TryTake(N("10.0.0.1")));
        Assert.True(tracker.TryTake(N("10.0.0.3")));
        Assert.True(tracker.TryTake(N("10.0.0.5")));

        Assert.Equal(["10.0.0.2", "10.0.0.4"], TakeAll(tracker));
    }

    [Fact]
    public void TryTake_AlreadyTaken_IsFalseAboveAndBelowTheCursor()
    {
        var tracker = new FreeAddressTracker(Pool("10.0.0.1-10.0.0.5"));
        tracker.TryTakeLowest(out _);

        Assert.False(tracker.TryTake(N("10.0.0.1")));
        Assert.True(tracker.TryTake(N("10.0.0.4")));
        Assert.False(tracker.TryTake(N("10.0.0.4")));
    }

    [Fact]
    public void Return_AddressTakenAboveCursor_IsHandedOutInItsTurn()
    {
        var tracker = new FreeAddressTracker(Pool("10.0.0.1-10.0.0.4"));
        tracker.TryTake(N("10.0.0.3"));
        tracker.Return(N("10.0.0.3"));

        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], TakeAll(tracker));
    }

    [Fact]
    public void Return_AfterExhaustion_MakesTheAddressAvailableAgain()
    {
        var tracker = new FreeAddressTracker(Pool("10.0.0.1-10.0.0.3"));
        TakeAll(tracker);

        tracker.Return(N("10.0.0.2"));

        Assert.Equal(["10.0.0.2"], TakeAll(tracker));
        Assert.False(tracker.TryTake(N("10.0.0.2")));
    }

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("10.0.0.4")]
    public void Return_AddressNotTaken_Throws(string address)
    {
        var tracker = new FreeAddressTracker(Pool("10.0.0.1-10.0.0.5"));
        tracker.TryTakeLowest(out _);
        tracker.Return(N("10.0.0.1"));

        var error = Assert.Throws<InvalidOperationException>(() => tracker.Return(N(address)));

        Assert.Equal($"address {address} was returned but was not taken", error.Message);
    }
}
