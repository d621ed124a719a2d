using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NSubstitute;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation.ReleaseLoadBalancerIp;

public sealed class ReleaseLoadBalancerIpTests
{
    private readonly AllocationRegistry _registry = Registry();
    private readonly CapturingLogger<ReleaseLoadBalancerIpHandler> _log = new();

    [Fact]
    public async Task Handle_OneOfTwoServicesOnAnIp_FreesItsPortsAndKeepsTheIpInUse()
    {
        Allocate(Spec("web", 80, 8080));
        Allocate(Spec("api", 443));

        var response = await Handler().Handle(new("default", "web"), CancellationToken.None);

        Assert.True(response.Succeeded);
        Assert.Empty(response.ValidationErrors);
        var release = response.Release!;
        Assert.Equal(new ServiceKey("default", "web"), release.Service);
        Assert.Equal(Ip("192.168.0.225"), release.Ip);
        Assert.Equal(["192.168.0.225:80", "192.168.0.225:8080"], Texts(release.Freed));
        Assert.False(release.IpUnused);
        Assert.Equal("192.168.0.225 (shared): 443=default/api", Describe(_registry.Leases()));
    }

    [Fact]
    public async Task Handle_LastServiceOnAnIp_ReportsTheIpUnused()
    {
        Allocate(Spec("web", 80));

        var response = await Handler().Handle(new("default", "web"), CancellationToken.None);

        Assert.True(response.Release!.IpUnused);
        Assert.Empty(_registry.Leases());
    }

    [Fact]
    public async Task Handle_ReleasedIpPort_CanBeTakenByAnotherService()
    {
        Allocate(Spec("svc1", 80));
        await Handler().Handle(new("default", "svc1"), CancellationToken.None);

        var result = _registry.Allocate(Spec("svc2", 80).ToRequest());

        Assert.Equal(Ip("192.168.0.225"), result.Allocation!.Ip);
    }

    [Fact]
    public async Task Handle_ServiceHoldingNothing_SucceedsAndFreesNothing()
    {
        Allocate(Spec("web", 80));

        var response = await Handler().Handle(new("default", "ghost"), CancellationToken.None);

        Assert.True(response.Succeeded);
        Assert.Empty(response.Releases);
        Assert.Empty(_log.Entries);
        Assert.Equal("192.168.0.225 (shared): 80=default/web", Describe(_registry.Leases()));
    }

    [Fact]
    public async Task Handle_SameNameInOtherNamespace_IsNotReleased()
    {
        Allocate(Spec("web", 80));

        var response = await Handler().Handle(new("other", "web"), CancellationToken.None);

        Assert.Empty(response.Releases);
        Assert.Single(_registry.Leases());
    }

    [Fact]
    public async Task Handle_Release_LogsFreedBindingsAtDebug()
    {
        Allocate(Spec("web", 80));

        await Handler().Handle(new("default", "web"), CancellationToken.None);

        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Equal(1004, entry.EventId.Id);
        Assert.Contains("default/web", entry.Message, StringComparison.Ordinal);
        Assert.Contains("IP 192.168.0.225 unused: True", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handle_Command_AsksRegistryToReleaseThatServiceKey()
    {
        var registry = Substitute.For<IAllocationRegistry>();
        var key = new ServiceKey("shop", "web");
        registry.Release(key).Returns([]);

        var response = await new ReleaseLoadBalancerIpHandler(registry, NullLogger<ReleaseLoadBalancerIpHandler>.Instance)
            .Handle(new("shop", "web"), CancellationToken.None);

        Assert.Empty(response.Releases);
        Assert.Null(response.Release);
        registry.Received(1).Release(key);
    }

    [Fact]
    public async Task Handle_NullCommand_Throws()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Handler().Handle(null!, CancellationToken.None));
    }

    private ReleaseLoadBalancerIpHandler Handler() => new(_registry, _log);

    private void Allocate(ServiceSpec spec)
    {
        var result = _registry.Allocate(spec.ToRequest());
        Assert.True(result.Succeeded, result.Refusal?.Message);
    }
}
