using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using static LoadBalancer.Application.Tests.Services.ServiceFakes;
using static LoadBalancer.Application.Tests.TestData;
using ApplyCommand = LoadBalancer.Application.Services.ApplyService.ApplyService;

namespace LoadBalancer.Application.Tests.Services.ApplyService;

public sealed class ApplyServiceTests : IDisposable
{
    private readonly ServiceFakes _fakes = new();

    public void Dispose() => _fakes.Dispose();

    [Fact]
    public async Task Handle_NewService_AllocatesThroughTheMediatorAddsTheIpAndStartsOneListenerPerPort()
    {
        var response = await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:8080", "10.0.0.2:8080"), Backends(443, "10.0.0.1:8443"));

        Assert.True(response.Succeeded, response.Failure);
        Assert.True(response.Changed);
        Assert.Equal(Ip("192.168.0.225"), response.Applied!.Ip);
        Assert.Equal(["add 192.168.0.225"], _fakes.LinkCalls());
        Assert.Equal(["192.168.0.225:80", "192.168.0.225:443"], _fakes.AppliedListeners());
        await _fakes.Forwarder.Received(1).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.Binding.ToString() == "192.168.0.225:80"
                && listener.Backends.Count == 2 && listener.Policy == LoadBalancingPolicyNames.RoundRobin
                && listener.Service == new ServiceKey("default", "web")),
            Arg.Any<CancellationToken>());
        Assert.Equal([typeof(ApplyCommand), typeof(AllocateLoadBalancerIp)], _fakes.Sender.Sent.Select(message => message.GetType()));
        Assert.True(response.Allocation.Changed);
        Assert.Empty(response.Freed);
        Assert.Same(response.Applied, _fakes.Applied.Find(new ServiceKey("default", "web")));
    }

    [Fact]
    public async Task Handle_ServiceRestoredFromItsStatus_IsServedOnThatIp_AsAnUnchangedAllocation()
    {
        var spec = Spec("web", null, 80);
        _fakes.Allocations.Restore([new Domain.Allocation.RestoredAssignment(spec.ToRequest(), Ip("192.168.0.230"))]);

        var response = await _fakes.ApplyAsync(spec, Backends(80, "10.0.0.1:8080"));

        Assert.True(response.Succeeded, response.Failure);
        Assert.Equal(Ip("192.168.0.230"), response.Applied.Ip);
        Assert.Equal(["add 192.168.0.230"], _fakes.LinkCalls());
        Assert.False(response.Allocation.Changed);
    }

    [Fact]
    public async Task Handle_PolicyAndHealthCheck_ReachTheListener()
    {
        var command = new ApplyCommand(Spec("web", null, 80), [Backends(80, "10.0.0.1:80")])
        {
            Policy = LoadBalancingPolicyNames.SourceHash,
            HealthCheck = NoChecks,
        };

        await _fakes.ApplyHandler().Handle(command, CancellationToken.None);

        await _fakes.Forwarder.Received(1).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.Policy == LoadBalancingPolicyNames.SourceHash && !listener.HealthCheck.Enabled),
            Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Handle_AffinityTimeout_ReachesEveryListener_AndAChangeOfItAloneReappliesThem()
    {
        ApplyCommand Command(TimeSpan? timeout) => new(Spec("web", null, 80, 443), [Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443")])
        {
            AffinityTimeout = timeout,
        };

        await _fakes.ApplyHandler().Handle(Command(TimeSpan.FromMinutes(10)), CancellationToken.None);
        await _fakes.Forwarder.Received(2).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.AffinityTimeout == TimeSpan.FromMinutes(10)),
            Arg.Any<CancellationToken>());
        _fakes.ClearCalls();

        var same = await _fakes.ApplyHandler().Handle(Command(TimeSpan.FromMinutes(10)), CancellationToken.None);
        Assert.False(same.Changed);
        Assert.Empty(_fakes.AppliedListeners());

        var off = await _fakes.ApplyHandler().Handle(Command(null), CancellationToken.None);
        Assert.True(off.Changed);
        Assert.Equal(["192.168.0.225:80", "192.168.0.225:443"], _fakes.AppliedListeners());
        Assert.All(off.Applied!.Listeners, listener => Assert.Null(listener.AffinityTimeout));
    }

    [Fact]
    public async Task Handle_ProxyProtocol_ReachesEveryTcpListener()
    {
        var command = new ApplyCommand(Spec("web", null, 80, 443), [Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443")])
        {
            HealthCheck = NoChecks,
            ProxyProtocol = ProxyProtocolVersion.V2,
        };

        await _fakes.ApplyHandler().Handle(command, CancellationToken.None);

        await _fakes.Forwarder.Received(2).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.ProxyProtocol == ProxyProtocolVersion.V2),
            Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Handle_SecondListenerFails_UndoesTheFirstListenerTheAllocationAndTheAddress_ThroughReleaseLoadBalancerIp()
    {
        _fakes.FailListener("192.168.0.225:443", "bind: Address already in use");

        var response = await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));

        Assert.False(response.Succeeded);
        Assert.Equal("listener 192.168.0.225:443: bind: Address already in use", response.Failure);
        Assert.Equal([("192.168.0.225:80", TimeSpan.Zero)], _fakes.StoppedListeners());
        Assert.Equal(["add 192.168.0.225", "remove 192.168.0.225"], _fakes.LinkCalls());
        Assert.Empty(_fakes.Allocations.Leases());
        Assert.Empty(_fakes.Applied.All());
        Assert.Null(response.Refusal);
        Assert.Empty(response.ValidationErrors);
        Assert.Single(_fakes.Sender.SentOf<ReleaseLoadBalancerIp>());
    }

    [Fact]
    public async Task Handle_ForwarderThrows_UndoesEverythingAndRethrows()
    {
        _fakes.Forwarder.ApplyAsync(default!, default).ThrowsAsyncForAnyArgs(new InvalidOperationException("broken"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80")));

        Assert.Empty(_fakes.Allocations.Leases());
        Assert.Empty(_fakes.Applied.All());
        Assert.Equal(["add 192.168.0.225", "remove 192.168.0.225"], _fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_LinkDeviceRefuses_ReleasesTheAllocationAndStartsNoListener()
    {
        _fakes.Link.AddAddressAsync(default!, default).ReturnsForAnyArgs(LinkOperationResult.Failed("operation not permitted"));

        var response = await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));

        Assert.Equal("link device eth-test refused 192.168.0.225: operation not permitted", response.Failure);
        Assert.Empty(_fakes.AppliedListeners());
        Assert.Empty(_fakes.Allocations.Leases());
        Assert.Empty(_fakes.Applied.All());
    }

    [Fact]
    public async Task Handle_RefusedAllocation_ChangesNothing()
    {
        await _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));
        var leasesBefore = Describe(_fakes.Allocations.Leases());
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("api", "192.168.0.230", 80), Backends(80, "10.0.0.2:80"));

        Assert.False(response.Succeeded);
        Assert.NotNull(response.Refusal);
        Assert.StartsWith("FAILED to allocate requested LoadBalancerIP 192.168.0.230:80", response.Failure, StringComparison.Ordinal);
        Assert.Empty(_fakes.Forwarder.ReceivedCalls());
        Assert.Empty(_fakes.LinkCalls());
        Assert.Empty(_fakes.Sender.SentOf<ReleaseLoadBalancerIp>());
        Assert.Equal(leasesBefore, Describe(_fakes.Allocations.Leases()));
        Assert.Equal([new ServiceKey("default", "web")], _fakes.Applied.All().Select(service => service.Key));
    }

    [Fact]
    public async Task Handle_UnchangedService_AppliesNothingAgain()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));

        Assert.True(response.Succeeded);
        Assert.False(response.Changed);
        Assert.Empty(_fakes.Forwarder.ReceivedCalls());
        Assert.Empty(_fakes.LinkCalls());
        Assert.False(response.Allocation.Changed);
    }

    [Fact]
    public async Task Handle_BackendsChanged_ReappliesOnlyThatListener()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80", "10.0.0.2:80"), Backends(443, "10.0.0.1:443"));

        Assert.True(response.Changed);
        Assert.Equal(["192.168.0.225:80"], _fakes.AppliedListeners());
        Assert.Empty(_fakes.StoppedListeners());
        Assert.Empty(_fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_PortRemoved_StopsItsListenerWithTheDrainTimeout()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));

        Assert.True(response.Succeeded);
        Assert.Equal([("192.168.0.225:443", Drain)], _fakes.StoppedListeners());
        Assert.Empty(_fakes.AppliedListeners());
        Assert.Empty(_fakes.LinkCalls());
        Assert.Equal(["192.168.0.225:80"], response.Applied!.Listeners.Select(listener => listener.Binding.ToString()));
        Assert.Equal("192.168.0.225 (shared): 80=default/web", Describe(_fakes.Allocations.Leases()));
    }

    [Fact]
    public async Task Handle_IpMoved_StartsOnTheNewIpStopsTheOldListenersAndRemovesTheOldIp()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));

        Assert.True(response.Succeeded);
        Assert.Equal(["192.168.0.230:80"], _fakes.AppliedListeners());
        Assert.Equal([("192.168.0.225:80", Drain)], _fakes.StoppedListeners());
        Assert.Equal(["add 192.168.0.230", "remove 192.168.0.225"], _fakes.LinkCalls());
        Assert.Equal(["192.168.0.225:80"], Texts(response.Freed));
    }

    [Fact]
    public async Task Handle_IpMoved_TheOldIpStaysUntilTheOldListenersHaveDrained_WithoutHoldingUpOtherServices()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        var drain = new TaskCompletionSource();
        _fakes.Forwarder.DetachAsync(default!, default, default).ReturnsForAnyArgs(drain.Task);
        _fakes.ClearCalls();

        var moving = _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));
        var other = await _fakes.ApplyAsync(Spec("api", "192.168.0.231", 443), Backends(443, "10.0.0.2:443")).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(other.Succeeded, other.Failure);
        Assert.Equal(["add 192.168.0.230", "add 192.168.0.231"], _fakes.LinkCalls());

        drain.SetResult();
        Assert.True((await moving.WaitAsync(TimeSpan.FromSeconds(5))).Succeeded);
        Assert.Equal(["add 192.168.0.230", "add 192.168.0.231", "remove 192.168.0.225"], _fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_MoveFailsOnTheNewListener_KeepsTheOldIpListenerAndAllocation()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.ClearCalls();
        _fakes.FailListener("192.168.0.230:80");

        var response = await _fakes.ApplyAsync(Spec("web", "192.168.0.230", 80), Backends(80, "10.0.0.1:80"));

        Assert.False(response.Succeeded);
        Assert.Empty(_fakes.StoppedListeners());
        Assert.Equal(["add 192.168.0.230", "remove 192.168.0.230"], _fakes.LinkCalls());
        Assert.Equal("192.168.0.225 (shared): 80=default/web", Describe(_fakes.Allocations.Leases()));
        Assert.Equal(Ip("192.168.0.225"), _fakes.Applied.Find(new ServiceKey("default", "web"))!.Ip);

        // The restored assignment is the old request: applying the old spec again changes nothing.
        _fakes.ClearCalls();
        var again = await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        Assert.False(again.Changed);
    }

    [Fact]
    public async Task Handle_ReplacedListenerFailsLater_PutsTheOldListenerBack()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));
        _fakes.ClearCalls();
        _fakes.FailListener("192.168.0.225:443");

        var response = await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.9:80"), Backends(443, "10.0.0.9:443"));

        Assert.False(response.Succeeded);
        Assert.Equal(["192.168.0.225:80", "192.168.0.225:443", "192.168.0.225:80"], _fakes.AppliedListeners());
        await _fakes.Forwarder.Received(1).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.Binding.ToString() == "192.168.0.225:80" && listener.Backends[0].ToString() == "10.0.0.1:80"),
            Arg.Any<CancellationToken>());
        Assert.Empty(_fakes.StoppedListeners());
        Assert.Equal("10.0.0.1:80", _fakes.Applied.Find(new ServiceKey("default", "web"))!.Listeners[0].Backends[0].ToString());
    }

    [Fact]
    public async Task Handle_SecondServiceOnASharedIp_DoesNotAddTheAddressAgain()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("api", null, 443), Backends(443, "10.0.0.2:443"));

        Assert.Equal(Ip("192.168.0.225"), response.Applied!.Ip);
        Assert.Empty(_fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_FailureOfASecondServiceOnASharedIp_LeavesTheAddressForTheFirst()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.ClearCalls();
        _fakes.FailListener("192.168.0.225:443");

        await _fakes.ApplyAsync(Spec("api", null, 443), Backends(443, "10.0.0.2:443"));

        Assert.Empty(_fakes.LinkCalls());
        Assert.Equal("192.168.0.225 (shared): 80=default/web", Describe(_fakes.Allocations.Leases()));
    }

    [Fact]
    public async Task Handle_UdpPort_GetsItsOwnListener_AndNothingIsReportedAsNotForwarded()
    {
        var spec = TestData.Spec("dns", 53) with { Ports = [Tcp(53), Udp(53)] };

        var response = await _fakes.ApplyAsync(spec, Backends(53, "10.0.0.1:53"));

        Assert.True(response.Succeeded);
        Assert.Equal(["192.168.0.225:53", "192.168.0.225:53/UDP"], _fakes.AppliedListeners());
        Assert.Empty(response.NotForwarded);
    }

    [Fact]
    public async Task Handle_UdpFlowIdleTimeout_GoesToTheUdpListenerOnly_AndAChangeReappliesIt()
    {
        var spec = TestData.Spec("dns", 53) with { Ports = [Tcp(53), Udp(53)] };
        var command = new ApplyCommand(spec, [new LoadBalancer.Application.Services.PortBackends(ServicePort.Tcp(53), []), new LoadBalancer.Application.Services.PortBackends(ServicePort.Udp(53), [])])
        {
            UdpFlowIdleTimeout = TimeSpan.FromSeconds(5),
        };

        var response = await _fakes.Sender.Send(command, CancellationToken.None);

        Assert.True(response.Succeeded);
        Assert.Equal([null, TimeSpan.FromSeconds(5)], response.Applied.Listeners.Select(listener => listener.UdpFlowIdleTimeout));

        _fakes.Forwarder.ClearReceivedCalls();
        await _fakes.Sender.Send(command with { UdpFlowIdleTimeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.Equal(["192.168.0.225:53/UDP"], _fakes.AppliedListeners());
    }

    [Fact]
    public async Task Handle_ProxyProtocol_GoesToTheTcpListenerOnly_AndTheDesiredServiceIsServedByThatShape()
    {
        var spec = TestData.Spec("dns", 53) with { Ports = [Tcp(53), Udp(53)] };
        var desired = new DesiredService(spec, [new LoadBalancer.Application.Services.PortBackends(ServicePort.Tcp(53), []), new LoadBalancer.Application.Services.PortBackends(ServicePort.Udp(53), [])])
        {
            ProxyProtocol = ProxyProtocolVersion.V1,
        };

        var response = await _fakes.Sender.Send(desired.ToCommand(), CancellationToken.None);

        Assert.True(response.Succeeded);
        Assert.Equal([ProxyProtocolVersion.V1, ProxyProtocolVersion.None], response.Applied.Listeners.Select(listener => listener.ProxyProtocol));
        Assert.True(desired.IsServedBy(response.Applied));
        Assert.False((desired with { ProxyProtocol = ProxyProtocolVersion.V2 }).IsServedBy(response.Applied));
    }

    [Fact]
    public async Task Handle_InvalidSpec_IsValidatedOnceByTheAllocationRequest_AndChangesNothing()
    {
        var response = await _fakes.ApplyAsync(Spec("web", "10.1", 0));

        Assert.False(response.Succeeded);
        Assert.Equal(
            ["spec.ports[0].port: port 0 must be between 1 and 65535", "spec.loadBalancerIP: invalid IP address: '10.1'"],
            response.ValidationErrors.Select(ServiceSpecFields.Describe));
        Assert.Equal(response.Failure, string.Join("; ", response.ValidationErrors.Select(ServiceSpecFields.Describe)));
        Assert.Empty(_fakes.Allocations.Leases());
        Assert.Empty(_fakes.LinkCalls());
        Assert.Empty(_fakes.Forwarder.ReceivedCalls());
    }

    [Fact]
    public async Task Handle_FailedChange_RestoresThePreviousAssignmentThroughRestoreAllocations()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.FailListener("192.168.0.225:443");
        _fakes.ClearCalls();

        var response = await _fakes.ApplyAsync(Spec("web", null, 80, 443), Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));

        Assert.False(response.Succeeded);
        Assert.Equal("192.168.0.225 (shared): 80=default/web", Describe(_fakes.Allocations.Leases()));
        var restored = Assert.Single(_fakes.Sender.SentOf<RestoreAllocations>());
        Assert.Equal("192.168.0.225", Assert.Single(restored.Services).Ip);
    }
}
