using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.State;
using LoadBalancer.Domain.Services;
using NSubstitute;

namespace LoadBalancer.Application.Tests.State;

public sealed class DaemonLivenessTests
{
    private readonly IReconcilerState _reconciler = Substitute.For<IReconcilerState>();

    [Fact]
    public void NothingReconciling_IsAlive()
    {
        _reconciler.LongestReconcile().Returns(((ServiceKey, TimeSpan)?)null);

        Assert.Null(new DaemonLiveness(_reconciler).NotAliveReason());
    }

    [Fact]
    public void AReconcileUpToTheLimit_IsAlive()
    {
        _reconciler.LongestReconcile().Returns((new ServiceKey("default", "web"), DaemonLiveness.StallLimit));

        Assert.Null(new DaemonLiveness(_reconciler).NotAliveReason());
    }

    [Fact]
    public void AReconcileStuckPastTheLimit_IsNotAlive_NamingTheService()
    {
        _reconciler.LongestReconcile().Returns((new ServiceKey("shop", "web"), DaemonLiveness.StallLimit + TimeSpan.FromSeconds(1)));

        Assert.Equal(
            "the reconcile of shop/web has run for 301 s (more than 300 s): the reconcile core is stuck",
            new DaemonLiveness(_reconciler).NotAliveReason());
    }
}
