using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.State;
using LoadBalancer.Application.State.GetDaemonState;
using LoadBalancer.Application.Tests.Reconciliation;
using LoadBalancer.Application.Tests.Services;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using NSubstitute;
using static LoadBalancer.Application.Tests.Reconciliation.ReconcilerHarness;
using static LoadBalancer.Application.Tests.TestData;
using DaemonStateQuery = LoadBalancer.Application.State.GetDaemonState.GetDaemonState;

namespace LoadBalancer.Application.Tests.State.GetDaemonState;

/// <summary>The state over the real reconciler and handlers (<see cref="ReconcilerHarness"/>) and scripted forwarder counters.</summary>
public sealed class GetDaemonStateTests : IAsyncDisposable
{
    private static readonly PortBinding Web80 = new(Ip("192.168.0.225"), ServicePort.Tcp(80));

    private readonly ReconcilerHarness _harness = new();
    private readonly IForwarderStatistics _statistics = Substitute.For<IForwarderStatistics>();

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    [Fact]
    public async Task Leader_ShowsThePool_AServedServiceWithBackendHealthAndTraffic_AndARefusedOneWithItsReason()
    {
        var web = Service("web", backends: ["10.0.0.1:8080", "10.0.0.2:8080"]);
        _harness.Source.Put(web with { Spec = web.Spec with { LoadBalancerClass = "littlelb.io/lb" } });
        _harness.Source.Put(Service("clash", ip: "192.168.0.225", backends: "10.0.0.3:8080"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.225")];
        _statistics.GetStatistics(Web80).Returns(new ListenerStatistics(Web80, Key("web"), Traffic(opened: 12, active: 2, fromClient: 1000, fromBackend: 5000),
        [
            new BackendStatistics(ServiceFakes.Endpoint("10.0.0.1:8080"), BackendHealthState.Healthy, true, Traffic(opened: 12, active: 2, fromClient: 1000, fromBackend: 5000)),
            new BackendStatistics(ServiceFakes.Endpoint("10.0.0.2:8080"), BackendHealthState.Ejected, false, Traffic(opened: 0, active: 0, fromClient: 0, fromBackend: 0) with { ConnectionsFailed = 3 }),
        ]));
        await _harness.StartAsync();

        var state = await QueryAsync();

        Assert.Equal(DaemonRole.Leading, state.Role);
        Assert.Equal(_harness.Time.GetUtcNow(), state.At);
        var pool = Assert.Single(state.Pools);
        Assert.Equal(("default", "192.168.0.224/28", (UInt128)14, 1, (UInt128)13), (pool.Name, pool.Addresses, pool.Size, pool.Used, pool.Free));
        Assert.Equal(["default/clash", "default/web"], state.Services.Select(service => service.Key.ToString()));

        var served = state.Services[1];
        Assert.Equal((ServingState.Served, "192.168.0.225", IpSharingMode.Shared, (string?)null), (served.State, served.Ip, served.Sharing, served.Reason));
        Assert.Equal("littlelb.io/lb", served.LoadBalancerClass);
        var port = Assert.Single(served.Ports);
        Assert.Equal(("TCP", 80, true), (port.Protocol, port.Port, port.Forwarded));
        Assert.Equal(2, port.Traffic!.ConnectionsActive);
        Assert.Equal(12, port.Traffic.ConnectionsOpened);
        Assert.Equal(
            [("10.0.0.1:8080", (BackendHealthState?)BackendHealthState.Healthy, 2L, 5000L), ("10.0.0.2:8080", BackendHealthState.Ejected, 0L, 0L)],
            port.Backends.Select(backend => (backend.Address, backend.Health, backend.Traffic!.ConnectionsActive, backend.Traffic.BytesFromBackend)));

        var clash = state.Services[0];
        Assert.Equal((ServingState.Refused, (string?)null, "192.168.0.225", (string?)null), (clash.State, clash.Ip, clash.RequestedIp, clash.LoadBalancerClass));
        Assert.StartsWith("FAILED to allocate requested LoadBalancerIP 192.168.0.225:80", clash.Reason, StringComparison.Ordinal);
        Assert.Equal(Assert.Single(_harness.Events.Of("clash", "ApplyFailed")).Message, clash.Reason);
        Assert.Equal([("TCP", 80, false)], clash.Ports.Select(refused => (refused.Protocol, refused.Port, refused.Forwarded)));

        // The refusal is among the latest Events, as the sink was told it, stamped with this replica's clock.
        var refusal = Assert.Single(state.Events, recent => recent.Name == "clash");
        Assert.Equal((ServiceEventType.Warning, "ApplyFailed", clash.Reason, _harness.Time.GetUtcNow()), (refusal.Type, refusal.Reason, refusal.Message, refusal.At));
    }

    [Fact]
    public async Task ServiceWhoseListenerWillNotBind_IsFailingWithTheReason_AndAnInvalidOneIsInvalid()
    {
        _harness.Fakes.FailListener("192.168.0.225:80");
        _harness.Source.Put(Service("web", backends: "10.0.0.1:8080"));
        _harness.Source.Put(new DesiredService(ServiceFakes.Spec("zero", null, 0), []));
        await _harness.StartAsync();

        var state = await QueryAsync();

        Assert.Equal(
            [("default/web", ServingState.Failing), ("default/zero", ServingState.Invalid)],
            state.Services.Select(service => (service.Key.ToString(), service.State)));
        Assert.Equal("listener 192.168.0.225:80: Address already in use", state.Services[0].Reason);
        Assert.Contains("not served as written", state.Services[1].Reason, StringComparison.Ordinal);
        Assert.Equal(0, Assert.Single(state.Pools).Used);
    }

    [Fact]
    public async Task ServedServiceWithoutCounters_ShowsItsBackendsWithHealthUnknown()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:8080"));
        await _harness.StartAsync();

        var state = await QueryAsync();

        var backend = Assert.Single(Assert.Single(Assert.Single(state.Services).Ports).Backends);
        Assert.Equal(("10.0.0.1:8080", (BackendHealthState?)null, (TrafficSnapshot?)null), (backend.Address, backend.Health, backend.Traffic));
    }

    [Fact]
    public async Task StandingBy_ShowsNoServiceAndNoAddressInUse_ThoughTheSourceWantsSome()
    {
        _harness.Source.Put(Service("web", backends: "10.0.0.1:8080"));
        _harness.Source.Put(Service("clash", ip: "192.168.0.225", backends: "10.0.0.3:8080"));
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.225")];
        await _harness.StartAsync();
        Assert.Equal(2, (await QueryAsync()).Services.Count);

        await _harness.EndTermAsync(stopping: false);
        var state = await QueryAsync();

        Assert.Equal(DaemonRole.StandingBy, state.Role);
        Assert.Empty(state.Services);
        Assert.Equal(0, Assert.Single(state.Pools).Used);
    }

    [Fact]
    public async Task WantedServiceNotYetReconciled_IsPending()
    {
        await _harness.StartAsync();

        // In the source and not yet looked at: no reconcile has been queued for it.
        _harness.Source.Put(Service("late", backends: "10.0.0.1:8080"));
        var state = await QueryAsync();

        var late = Assert.Single(state.Services);
        Assert.Equal((ServingState.Pending, (string?)null), (late.State, late.Ip));
    }

    private async Task<DaemonState> QueryAsync() =>
        await new GetDaemonStateHandler(_harness.Fakes.Allocations, _harness.Fakes.Applied, _harness.State, _statistics, _harness.RecentEvents, _harness.Time)
            .Handle(new DaemonStateQuery(), CancellationToken.None);

    private static TrafficSnapshot Traffic(long opened, long active, long fromClient, long fromBackend) =>
        new(opened, active, 0, 0, fromClient, fromBackend);
}
