using LoadBalancer.Infrastructure.Forwarding.Splice;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Splice;

public sealed class SpliceSupportTests
{
    [Fact]
    public void UnavailableReason_OnThisLinuxKernel_IsNullBecauseSpliceFromTcpWorks()
    {
        Assert.True(OperatingSystem.IsLinux(), "these tests run on Linux (CI and the dev machines)");
        Assert.Null(SpliceSupport.UnavailableReason);
    }
}
