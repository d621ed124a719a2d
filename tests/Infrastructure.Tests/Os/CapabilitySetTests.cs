using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Tests.Os;

public sealed class CapabilitySetTests
{
    [Fact]
    public void FromStatus_ReadsTheEffectiveLine_NotTheOthers()
    {
        const string status = "Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\n";

        var set = CapabilitySet.FromStatus(status);

        Assert.NotNull(set);
        Assert.True(set.Value.Has(LinuxCapability.NetAdmin));
        Assert.True(set.Value.Has(LinuxCapability.NetRaw));
        Assert.False(set.Value.Has(LinuxCapability.NetBindService));
    }

    [Theory]
    [InlineData("Name:\tcat\n")]
    [InlineData("CapEff:\tnot-hex\n")]
    public void FromStatus_WithoutAReadableEffectiveLine_IsUnknown(string status) => Assert.Null(CapabilitySet.FromStatus(status));

    [Fact]
    public void OfThisProcess_IsRead() => Assert.NotNull(CapabilitySet.OfThisProcess());
}
