using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Domain.Allocation;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host.Tests;

/// <summary>The composed daemon: commands go through the generated mediator and the validation behaviour.</summary>
public sealed class MediatorPipelineTests : IAsyncLifetime
{
    private readonly ServiceProvider _provider = new ServiceCollection()
        .AddLogging()
        .AddLoadBalancer(new AllocationOptions { Pool = "192.168.0.224/28" })
        .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

    private IMediator Mediator => _provider.GetRequiredService<IMediator>();

    public Task InitializeAsync() => Task.CompletedTask;

    // Async: the forwarder the Service handlers hold is async-disposable only.
    public Task DisposeAsync() => _provider.DisposeAsync().AsTask();

    [Fact]
    public async Task SeedConflictScenario_ThroughTheMediator_BehavesAsTheOriginalDocuments()
    {
        var svc1 = await Mediator.Send(Allocate("svc1", 80));
        var svc2 = await Mediator.Send(Allocate("svc2", 80, "192.168.0.225"));
        var svc3 = await Mediator.Send(Allocate("svc3", 80));
        var svc4 = await Mediator.Send(Allocate("svc4", 443));

        Assert.Equal("192.168.0.225", svc1.Allocation!.Ip.ToString());
        Assert.Equal(AllocationReason.New, svc1.Allocation.Reason);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 192.168.0.225:80 - Reason: IP:port 192.168.0.225:80 is already allocated",
            svc2.Refusal!.Message);
        Assert.Equal("192.168.0.226", svc3.Allocation!.Ip.ToString());
        Assert.Equal("192.168.0.225", svc4.Allocation!.Ip.ToString());
        Assert.Equal(AllocationReason.Reused, svc4.Allocation.Reason);
    }

    [Fact]
    public async Task InvalidCommand_IsAnsweredWithEveryErrorAndAllocatesNothing()
    {
        var command = new AllocateLoadBalancerIp(new ServiceSpec(
            "Default", "web", [new ServicePortSpec("SCTP", 70000), new ServicePortSpec("TCP", 80), new ServicePortSpec("tcp", 80)],
            LoadBalancerIp: "300.1.1.1"));

        var response = await Mediator.Send(command);

        Assert.False(response.Succeeded);
        Assert.Null(response.Refusal);
        Assert.Equal(
            [
                "namespace 'Default' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit",
                "protocol 'SCTP' of port 70000 must be TCP or UDP",
                "port 70000 must be between 1 and 65535",
                "ports: TCP 80 listed more than once",
                "loadBalancerIP: invalid IP address: 300.1.1.1",
            ],
            response.ValidationErrors.Select(error => error.Message));
        Assert.Empty((await Mediator.Send(new GetAllocations())).Leases);
    }

    [Fact]
    public async Task Release_ThroughTheMediator_FreesTheIpForTheNextService()
    {
        await Mediator.Send(Allocate("svc1", 80));

        var released = await Mediator.Send(new ReleaseLoadBalancerIp("default", "svc1"));
        var next = await Mediator.Send(Allocate("svc2", 80));

        Assert.True(released.Release!.IpUnused);
        Assert.Equal("192.168.0.225", next.Allocation!.Ip.ToString());
    }

    [Fact]
    public async Task InvalidRelease_IsAnsweredWithTheError()
    {
        var response = await Mediator.Send(new ReleaseLoadBalancerIp("default", "Not_A_Label"));

        Assert.Equal(["name 'Not_A_Label' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"], response.ValidationErrors.Select(error => error.Message));
    }

    private static AllocateLoadBalancerIp Allocate(string name, int port, string? ip = null) =>
        new(new ServiceSpec("default", name, [new ServicePortSpec("TCP", port)], ip));
}
