using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Application.Tests.Support;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NSubstitute;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation.AllocateLoadBalancerIp;

public sealed class AllocateLoadBalancerIpTests
{
    private const string ConflictMessage =
        "FAILED to allocate requested LoadBalancerIP 192.168.0.225:80 - Reason: IP:port 192.168.0.225:80 is already allocated";

    private static readonly DateTimeOffset Created = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ServiceKey Web = new("default", "web");

    private readonly IAllocationRegistry _substitute = Substitute.For<IAllocationRegistry>();
    private readonly CapturingLogger<AllocateLoadBalancerIpHandler> _log = new();

    // Mapping to the domain request, against a substitute registry.

    [Fact]
    public async Task Handle_FullSpec_PassesPortsRequestedIpSharingAndCreationTimeToRegistry()
    {
        LoadBalancerRequest? sent = null;
        _substitute.Allocate(Arg.Do<LoadBalancerRequest>(request => sent = request)).Returns(Allocated(Web, "192.168.0.230"));
        var spec = new ServiceSpec("shop", "web", [Tcp(443), Udp(53), new("tcp", 80, "http")],
            LoadBalancerIp: "192.168.0.230", SharingKey: "team-a", CreatedAt: Created);

        await Handler(_substitute).Handle(new(spec), CancellationToken.None);

        Assert.NotNull(sent);
        Assert.Equal(new ServiceKey("shop", "web"), sent.Service);
        Assert.Equal([ServicePort.Udp(53), ServicePort.Tcp(80), ServicePort.Tcp(443)], sent.Ports);
        Assert.Equal(Ip("192.168.0.230"), sent.RequestedIp);
        Assert.Equal(IpSharing.WithKey("team-a"), sent.Sharing);
        Assert.Equal(Created, sent.CreatedAt);
    }

    [Fact]
    public async Task Handle_SpecWithoutIpOrSharing_AsksForAnySharedIp()
    {
        LoadBalancerRequest? sent = null;
        _substitute.Allocate(Arg.Do<LoadBalancerRequest>(request => sent = request)).Returns(Allocated(Web, "192.168.0.225"));

        await Handler(_substitute).Handle(new(Spec("web", 80)), CancellationToken.None);

        Assert.NotNull(sent);
        Assert.Null(sent.RequestedIp);
        Assert.Same(IpSharing.Shared, sent.Sharing);
        Assert.Equal(default, sent.CreatedAt);
        Assert.Equal([ServicePort.Tcp(80)], sent.Ports);
    }

    [Fact]
    public async Task Handle_ExclusiveSpec_AsksForExclusiveIp()
    {
        LoadBalancerRequest? sent = null;
        _substitute.Allocate(Arg.Do<LoadBalancerRequest>(request => sent = request)).Returns(Allocated(Web, "192.168.0.225"));

        await Handler(_substitute).Handle(new(Spec("web") with { ExclusiveIp = true }), CancellationToken.None);

        Assert.NotNull(sent);
        Assert.Same(IpSharing.Exclusive, sent.Sharing);
    }

    [Fact]
    public async Task Handle_IPv4MappedRequestedIp_IsPassedAsIPv4()
    {
        LoadBalancerRequest? sent = null;
        _substitute.Allocate(Arg.Do<LoadBalancerRequest>(request => sent = request)).Returns(Allocated(Web, "192.168.0.230"));

        await Handler(_substitute).Handle(new(Spec("web") with { LoadBalancerIp = "::ffff:192.168.0.230" }), CancellationToken.None);

        Assert.NotNull(sent);
        Assert.Equal(Ip("192.168.0.230"), sent.RequestedIp);
    }

    [Fact]
    public async Task Handle_RegistryAllocates_ReturnsThatAllocationUnchanged()
    {
        var result = Allocated(Web, "192.168.0.225");
        _substitute.Allocate(Arg.Any<LoadBalancerRequest>()).Returns(result);

        var response = await Handler(_substitute).Handle(new(Spec("web")), CancellationToken.None);

        Assert.Same(result.Allocation, response.Allocation);
        Assert.Null(response.Refusal);
        Assert.Empty(response.ValidationErrors);
        Assert.True(response.Succeeded);
        _substitute.Received(1).Allocate(Arg.Any<LoadBalancerRequest>());
    }

    [Fact]
    public async Task Handle_RegistryRefuses_ReturnsThatRefusalUnchangedAndLogsWarning()
    {
        var refusal = new AllocationRefusal(Web, RefusalKind.PoolExhausted, "no available IPs for port 80 in pool 'default'",
            "no available IPs for port 80 in pool 'default'");
        _substitute.Allocate(Arg.Any<LoadBalancerRequest>()).Returns(StackAllocationResult.OneFamily(AllocationResult.Refused(refusal)));

        var response = await Handler(_substitute).Handle(new(Spec("web")), CancellationToken.None);

        Assert.Same(refusal, response.Refusal);
        Assert.Null(response.Allocation);
        Assert.False(response.Succeeded);
        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Equal(1003, entry.EventId.Id);
        Assert.Equal("no available IPs for port 80 in pool 'default'", entry.Message);
    }

    [Fact]
    public async Task Handle_ChangedAllocation_LogsAllocatedAtDebug_TheEventSaysItAtInformation()
    {
        _substitute.Allocate(Arg.Any<LoadBalancerRequest>()).Returns(Allocated(Web, "192.168.0.225"));

        await Handler(_substitute).Handle(new(Spec("web")), CancellationToken.None);

        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Equal(1001, entry.EventId.Id);
        Assert.Equal("Allocated 192.168.0.225 to default/web (New): [192.168.0.225:80]", entry.Message);
    }

    [Fact]
    public async Task Handle_UnchangedAllocation_LogsOnlyAtDebug()
    {
        var allocation = new IpAllocation(Web, Ip("192.168.0.225"), AllocationReason.Kept,
            [new PortBinding(Ip("192.168.0.225"), ServicePort.Tcp(80))], Changed: false);
        _substitute.Allocate(Arg.Any<LoadBalancerRequest>()).Returns(StackAllocationResult.OneFamily(AllocationResult.Allocated(allocation)));

        await Handler(_substitute).Handle(new(Spec("web")), CancellationToken.None);

        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Equal(1002, entry.EventId.Id);
    }

    [Fact]
    public async Task Handle_MoveThatVacatesAnIp_LogsTheVacatedIp()
    {
        var allocation = new IpAllocation(Web, Ip("192.168.0.226"), AllocationReason.New,
            [new PortBinding(Ip("192.168.0.226"), ServicePort.Tcp(80))], Changed: true, VacatedIp: Ip("192.168.0.225"));
        _substitute.Allocate(Arg.Any<LoadBalancerRequest>()).Returns(StackAllocationResult.OneFamily(AllocationResult.Allocated(allocation)));

        await Handler(_substitute).Handle(new(Spec("web")), CancellationToken.None);

        Assert.Equal([1001, 1007], _log.Entries.Select(entry => entry.EventId.Id));
        Assert.Equal("default/web left 192.168.0.225, which no service uses now", _log.Entries[1].Message);
    }

    [Fact]
    public async Task Handle_NullCommand_Throws()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(
            async () => await Handler(_substitute).Handle(null!, CancellationToken.None));
    }

    // The seed's conflict scenario, end to end against the real registry.

    [Fact]
    public async Task Handle_FirstDynamicService_GetsLowestAddressOfPool()
    {
        var handler = Handler(Registry());

        var response = await handler.Handle(new(Spec("svc1", 80)), CancellationToken.None);

        Assert.True(response.Succeeded);
        Assert.Equal(Ip("192.168.0.225"), response.Allocation!.Ip);
        Assert.Equal(AllocationReason.New, response.Allocation.Reason);
        Assert.Equal(["192.168.0.225:80"], Texts(response.Allocation.Bindings));
    }

    [Fact]
    public async Task Handle_ExplicitIpTakenOnSamePort_ReturnsRefusalAndChangesNothing()
    {
        var registry = Registry();
        var handler = Handler(registry);
        await handler.Handle(new(Spec("svc1", 80)), CancellationToken.None);
        var before = Describe(registry.Leases());

        var response = await handler.Handle(new(Spec("svc2", 80) with { LoadBalancerIp = "192.168.0.225" }), CancellationToken.None);

        Assert.False(response.Succeeded);
        Assert.Null(response.Allocation);
        Assert.Equal(ConflictMessage, response.Refusal!.Message);
        Assert.Equal(RefusalKind.PortInUse, response.Refusal.Kind);
        Assert.Equal(new ServiceKey("default", "svc2"), response.Refusal.Service);
        Assert.Equal(before, Describe(registry.Leases()));
        Assert.Equal("192.168.0.225 (shared): 80=default/svc1", before);
        Assert.Null(registry.FindAssignment(new ServiceKey("default", "svc2")));
    }

    [Fact]
    public async Task Handle_ExplicitIpTakenOnSamePort_LogsTheOriginalsRefusalLineAtDebug1003_TheWarningIsTheEvents()
    {
        var handler = Handler(Registry());
        await handler.Handle(new(Spec("svc1", 80)), CancellationToken.None);

        await handler.Handle(new(Spec("svc2", 80) with { LoadBalancerIp = "192.168.0.225" }), CancellationToken.None);

        var refusal = Assert.Single(_log.Entries, entry => entry.EventId.Id == 1003);
        Assert.Equal(LogLevel.Debug, refusal.Level);
        Assert.Contains(ConflictMessage, refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_log.Entries, entry => entry.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Handle_SeedConflictScenario_AllocatesRefusesThenReusesIpForOtherPort()
    {
        var registry = Registry();
        var handler = Handler(registry);

        var svc1 = await handler.Handle(new(Spec("svc1", 80)), CancellationToken.None);
        var svc2 = await handler.Handle(new(Spec("svc2", 80) with { LoadBalancerIp = "192.168.0.225" }), CancellationToken.None);
        var svc3 = await handler.Handle(new(Spec("svc3", 80)), CancellationToken.None);
        var svc4 = await handler.Handle(new(Spec("svc4", 443)), CancellationToken.None);

        Assert.Equal(Ip("192.168.0.225"), svc1.Allocation!.Ip);
        Assert.Equal(ConflictMessage, svc2.Refusal!.Message);
        Assert.Equal(Ip("192.168.0.226"), svc3.Allocation!.Ip);
        Assert.Equal(AllocationReason.New, svc3.Allocation.Reason);
        Assert.Equal(Ip("192.168.0.225"), svc4.Allocation!.Ip);
        Assert.Equal(AllocationReason.Reused, svc4.Allocation.Reason);
        Assert.Equal(
            string.Join(Environment.NewLine,
                "192.168.0.225 (shared): 80=default/svc1, 443=default/svc4",
                "192.168.0.226 (shared): 80=default/svc3"),
            Describe(registry.Leases()));
    }

    [Fact]
    public async Task Handle_ExplicitFreeIp_IsGrantedAsRequested()
    {
        var handler = Handler(Registry());

        var response = await handler.Handle(new(Spec("web", 80) with { LoadBalancerIp = "192.168.0.230" }), CancellationToken.None);

        Assert.Equal(Ip("192.168.0.230"), response.Allocation!.Ip);
        Assert.Equal(AllocationReason.Requested, response.Allocation.Reason);
    }

    [Fact]
    public async Task Handle_ExplicitIpOutsidePool_IsRefusedNamingThePool()
    {
        var registry = Registry();
        var handler = Handler(registry);

        var response = await handler.Handle(new(Spec("web", 80) with { LoadBalancerIp = "10.0.0.1" }), CancellationToken.None);

        Assert.Equal(RefusalKind.OutsidePool, response.Refusal!.Kind);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 10.0.0.1:80 - Reason: IP 10.0.0.1 is not in CIDR range 192.168.0.224/28 of pool 'default'",
            response.Refusal.Message);
        Assert.Empty(registry.Leases());
    }

    [Fact]
    public async Task Handle_SameSpecTwice_KeepsIpWithoutChange()
    {
        var handler = Handler(Registry());
        await handler.Handle(new(Spec("web", 80)), CancellationToken.None);

        var again = await handler.Handle(new(Spec("web", 80)), CancellationToken.None);

        Assert.False(again.Allocation!.Changed);
        Assert.Equal(AllocationReason.Kept, again.Allocation.Reason);
        Assert.Equal(Ip("192.168.0.225"), again.Allocation.Ip);
    }

    [Fact]
    public async Task Handle_ExclusiveService_DoesNotShareItsIp()
    {
        var handler = Handler(Registry());
        await handler.Handle(new(Spec("private", 80) with { ExclusiveIp = true }), CancellationToken.None);

        var other = await handler.Handle(new(Spec("web", 443)), CancellationToken.None);

        Assert.Equal(Ip("192.168.0.226"), other.Allocation!.Ip);
    }

    [Fact]
    public async Task Handle_PoolExhausted_ReturnsRefusal()
    {
        var handler = Handler(Registry("192.168.0.225"));
        await handler.Handle(new(Spec("first", 80)), CancellationToken.None);

        var response = await handler.Handle(new(Spec("second", 80)), CancellationToken.None);

        Assert.Equal(RefusalKind.PoolExhausted, response.Refusal!.Kind);
        Assert.Equal("no available IPs for port 80 in pool 'default'", response.Refusal.Message);
    }

    [Fact]
    public async Task Handle_WithNullLogger_StillAllocates()
    {
        var registry = Registry();
        var handler = new AllocateLoadBalancerIpHandler(registry, Metrics(registry), NullLogger<AllocateLoadBalancerIpHandler>.Instance);

        var response = await handler.Handle(new(Spec("web", 80)), CancellationToken.None);

        Assert.True(response.Succeeded);
    }

    private AllocateLoadBalancerIpHandler Handler(IAllocationRegistry registry) => new(registry, Metrics(registry), _log);

    private static AllocationMetrics Metrics(IAllocationRegistry registry) => new(new TestMeterFactory(), registry);

    private static StackAllocationResult Allocated(ServiceKey service, string ip) =>
        StackAllocationResult.OneFamily(AllocationResult.Allocated(new IpAllocation(service, Ip(ip), AllocationReason.New,
            [new PortBinding(Ip(ip), ServicePort.Tcp(80))], Changed: true)));
}
