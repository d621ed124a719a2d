using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.State;
using NSubstitute;

namespace LoadBalancer.Application.Tests.State;

public sealed class DaemonReadinessTests
{
    private readonly IServiceSource _source = Substitute.For<IServiceSource>();
    private readonly IServiceReconciler _reconciler = Substitute.For<IServiceReconciler>();

    [Fact]
    public void NotReady_UntilTheSourceHasReadItsWorld()
    {
        _source.Ready.Returns(new TaskCompletionSource().Task);
        _reconciler.Ready.Returns(Task.CompletedTask);

        Assert.StartsWith("the Services have not been read yet", new DaemonReadiness(_source, _reconciler).NotReadyReason(), StringComparison.Ordinal);
    }

    [Fact]
    public void NotReady_WhenTheSourceCouldNotStart_SayingWhy()
    {
        _source.Ready.Returns(Task.FromException(new InvalidOperationException("no such file")));

        Assert.Equal("the source could not start: no such file", new DaemonReadiness(_source, _reconciler).NotReadyReason());
    }

    [Fact]
    public void Serving_NotReady_UntilTheTermHasReconciledEveryServiceOnce()
    {
        _source.Ready.Returns(Task.CompletedTask);
        _reconciler.IsServing.Returns(true);
        _reconciler.Ready.Returns(new TaskCompletionSource().Task);
        var readiness = new DaemonReadiness(_source, _reconciler);

        Assert.Equal("the Services have not all been reconciled once yet", readiness.NotReadyReason());
        _reconciler.Ready.Returns(Task.CompletedTask);
        Assert.Null(readiness.NotReadyReason());
    }

    [Fact]
    public void StandingBy_IsReadyOnceTheSourceHasRead_SoThatASecondReplicaRollsOut()
    {
        _source.Ready.Returns(Task.CompletedTask);
        _reconciler.IsServing.Returns(false);
        _reconciler.Ready.Returns(new TaskCompletionSource().Task);

        Assert.Null(new DaemonReadiness(_source, _reconciler).NotReadyReason());
    }
}
