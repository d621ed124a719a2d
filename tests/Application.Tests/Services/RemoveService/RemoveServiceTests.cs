using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Domain.Services;
using NSubstitute;
using static LoadBalancer.Application.Tests.Services.ServiceFakes;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Services.RemoveService;

public sealed class RemoveServiceTests : IDisposable
{
    private readonly ServiceFakes _fakes = new();

    public void Dispose() => _fakes.Dispose();

    [Fact]
    public async Task Handle_OnlyServiceOnItsIp_StopsListenersReleasesThroughTheMediatorAndRemovesTheIp()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));
        _fakes.ClearCalls();

        var response = await _fakes.RemoveAsync("web");

        Assert.True(response.Removed);
        Assert.Equal(Ip("192.168.0.225"), response.Ip);
        Assert.Equal([("192.168.0.225:80", Drain), ("192.168.0.225:443", Drain)], _fakes.StoppedListeners());
        Assert.Equal(["remove 192.168.0.225"], _fakes.LinkCalls());
        Assert.Empty(_fakes.Allocations.Leases());
        Assert.Empty(_fakes.Applied.All());
        Assert.Equal(["192.168.0.225:80", "192.168.0.225:443"], Texts(response.Freed));
        Assert.Single(_fakes.Sender.SentOf<ReleaseLoadBalancerIp>());
    }

    [Fact]
    public async Task Handle_SharedIp_IsKeptWhileOneUserRemainsAndRemovedWithTheLast()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        await _fakes.ApplyAsync(Spec("api", null, 443), Backends(443, "10.0.0.2:443"));
        _fakes.ClearCalls();

        await _fakes.RemoveAsync("web");

        Assert.Empty(_fakes.LinkCalls());
        Assert.Equal("192.168.0.225 (shared): 443=default/api", Describe(_fakes.Allocations.Leases()));

        await _fakes.RemoveAsync("api");

        Assert.Equal(["remove 192.168.0.225"], _fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_UnknownService_SucceedsAndTouchesNothing()
    {
        var response = await _fakes.RemoveAsync("ghost");

        Assert.True(response.Succeeded);
        Assert.False(response.Removed);
        Assert.Empty(_fakes.Forwarder.ReceivedCalls());
        Assert.Empty(_fakes.LinkCalls());
        Assert.Empty(response.Freed);
    }

    [Fact]
    public async Task Handle_RemovedService_ItsPortCanBeAppliedByAnother()
    {
        await _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));
        await _fakes.RemoveAsync("web");

        var response = await _fakes.ApplyAsync(Spec("api", "192.168.0.230", 80), Backends(80, "10.0.0.2:80"));

        Assert.True(response.Succeeded, response.Failure);
    }

    [Fact]
    public async Task Handle_DrainTimeoutGiven_DrainsForThatLong()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.ClearCalls();

        var response = await _fakes.RemoveHandler().Handle(new Application.Services.RemoveService.RemoveService("default", "web") { DrainTimeout = TimeSpan.Zero }, CancellationToken.None);

        Assert.True(response.Removed);
        Assert.Equal([("192.168.0.225:80", TimeSpan.Zero)], _fakes.StoppedListeners());
        Assert.Equal(["remove 192.168.0.225"], _fakes.LinkCalls());
        Assert.Empty(_fakes.Allocations.Leases());
    }

    [Fact]
    public async Task Handle_RestoredButNeverApplied_ReleasesTheAllocationAndTakesTheAddressOff()
    {
        var spec = Spec("web", null, 80);
        _fakes.Allocations.Restore([new Domain.Allocation.RestoredAssignment(spec.ToRequest(), Ip("192.168.0.230"))]);

        var response = await _fakes.RemoveAsync("web");

        Assert.True(response.Removed);
        Assert.Empty(_fakes.Allocations.Leases());
        Assert.Equal(["remove 192.168.0.230"], _fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_WhileConnectionsDrain_OtherServicesApply_AndTheAddressGoesOnlyAfterTheDrain()
    {
        await _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));
        var drain = new TaskCompletionSource();
        _fakes.Forwarder.DetachAsync(default!, default, default).ReturnsForAnyArgs(drain.Task);
        _fakes.ClearCalls();

        var removing = _fakes.RemoveAsync("web");
        var other = await _fakes.ApplyAsync(Spec("api", null, 443), Backends(443, "10.0.0.2:443")).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(other.Succeeded, other.Failure);
        Assert.False(removing.IsCompleted);
        Assert.DoesNotContain("remove 192.168.0.230", _fakes.LinkCalls());

        drain.SetResult();
        var removed = await removing.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(removed.Removed);
        Assert.Contains("remove 192.168.0.230", _fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_AddressTakenAgainDuringTheDrain_StaysOnTheLink()
    {
        await _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));
        var drain = new TaskCompletionSource();
        _fakes.Forwarder.DetachAsync(default!, default, default).ReturnsForAnyArgs(drain.Task);

        var removing = _fakes.RemoveAsync("web");
        var again = await _fakes.ApplyAsync(Spec("api", "192.168.0.230", 80), Backends(80, "10.0.0.2:80")).WaitAsync(TimeSpan.FromSeconds(5));
        _fakes.ClearCalls();
        drain.SetResult();
        await removing.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(again.Succeeded, again.Failure);
        Assert.Empty(_fakes.LinkCalls());
    }
}
