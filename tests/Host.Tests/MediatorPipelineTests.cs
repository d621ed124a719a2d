using FluentValidation;
using FluentValidation.Results;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host.Tests;

/// <summary>The composed daemon: commands go through the generated mediator and the validation behaviour.</summary>
public sealed class MediatorPipelineTests : IAsyncLifetime
{
    /// <summary>
    /// Not validated on build: <see cref="DependencyInjection.AddLoadBalancer"/> leaves the source of Services to a serving
    /// mode, so the reconciler cannot be built here; the mediator and what it reaches can, and these tests use nothing else.
    /// </summary>
    private static readonly ServiceProviderOptions Checks = new() { ValidateOnBuild = false, ValidateScopes = true };

    private readonly ServiceProvider _provider = new ServiceCollection()
        .AddLogging()
        .AddLoadBalancer(new AllocationOptions { Pool = "192.168.0.224/28" })
        .BuildServiceProvider(Checks);

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
                "loadBalancerIP: invalid IP address: '300.1.1.1'",
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

    [Fact]
    public async Task ApplyService_InvalidSpec_IsAnsweredWithErrorsNamingTheSpecFields_ValidatedOnce_AndNeverReachesTheAllocator()
    {
        await using var counted = CountedDaemon.Create();
        var command = new ApplyService(new ServiceSpec("default", "web", [new ServicePortSpec("TCP", 70000)], LoadBalancerIp: "300.1.1.1"), []);

        var response = await counted.Mediator.Send(command);

        Assert.False(response.Succeeded);
        Assert.Null(response.Refusal);
        Assert.Equal(["spec.ports[0].port", "spec.loadBalancerIP"], response.ValidationErrors.Select(error => ServiceSpecFields.ManifestPath(error.Field)));
        Assert.Equal("spec.ports[0].port: port 70000 must be between 1 and 65535; spec.loadBalancerIP: invalid IP address: '300.1.1.1'", response.Failure);
        Assert.Equal(1, counted.ApplyServiceSent.Seen);
        Assert.Equal(1, counted.AllocateSent.Seen);
        Assert.Equal(0, counted.Registry.Allocations);
    }

    [Fact]
    public async Task ApplyService_ValidSpec_SendsAllocateLoadBalancerIpExactlyOnce_WhichReachesTheAllocatorOnce()
    {
        await using var counted = CountedDaemon.Create();
        var command = new ApplyService(new ServiceSpec("default", "dns", [new ServicePortSpec("UDP", 5353)]), []);

        var response = await counted.Mediator.Send(command);

        Assert.True(response.Succeeded, response.Failure);
        Assert.Equal("127.0.105.1", response.Applied.Ip.ToString());
        Assert.Equal(1, counted.ApplyServiceSent.Seen);
        Assert.Equal(1, counted.AllocateSent.Seen);
        Assert.Equal(1, counted.Registry.Allocations);
        await counted.Mediator.Send(new RemoveService("default", "dns"));
    }

    private static AllocateLoadBalancerIp Allocate(string name, int port, string? ip = null) =>
        new(new ServiceSpec("default", name, [new ServicePortSpec("TCP", port)], ip));

    /// <summary>
    /// The composed daemon with counters: how many of each message went through the validation behaviour (that is, were
    /// sent; the counting validator never objects) and how often the allocator itself was asked.
    /// </summary>
    private sealed class CountedDaemon : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        private CountedDaemon(ServiceProvider provider) => _provider = provider;

        public IMediator Mediator => _provider.GetRequiredService<IMediator>();

        public SentCounter<ApplyService> ApplyServiceSent => _provider.GetRequiredService<SentCounter<ApplyService>>();

        public SentCounter<AllocateLoadBalancerIp> AllocateSent => _provider.GetRequiredService<SentCounter<AllocateLoadBalancerIp>>();

        public CountingRegistry Registry => _provider.GetRequiredService<CountingRegistry>();

        public static CountedDaemon Create()
        {
            var services = new ServiceCollection()
                .AddLogging()
                .AddLoadBalancer(new AllocationOptions { Pool = "127.0.105.0/29" });
            services.AddSingleton<SentCounter<ApplyService>>();
            services.AddSingleton<IValidator<ApplyService>>(provider => provider.GetRequiredService<SentCounter<ApplyService>>());
            services.AddSingleton<SentCounter<AllocateLoadBalancerIp>>();
            services.AddSingleton<IValidator<AllocateLoadBalancerIp>>(provider => provider.GetRequiredService<SentCounter<AllocateLoadBalancerIp>>());

            var registry = services.Single(descriptor => descriptor.ServiceType == typeof(IAllocationRegistry));
            var implementation = registry.ImplementationType ?? throw new InvalidOperationException("the allocation registry is no longer registered by type");
            services.Remove(registry);
            services.AddSingleton(implementation);
            services.AddSingleton(provider => new CountingRegistry((IAllocationRegistry)provider.GetRequiredService(implementation)));
            services.AddSingleton<IAllocationRegistry>(provider => provider.GetRequiredService<CountingRegistry>());
            return new CountedDaemon(services.BuildServiceProvider(Checks));
        }

        public ValueTask DisposeAsync() => _provider.DisposeAsync();
    }

    /// <summary>Counts the messages it is asked to validate, and finds nothing wrong with them.</summary>
    private sealed class SentCounter<T> : AbstractValidator<T>
    {
        private int _seen;

        public int Seen => Volatile.Read(ref _seen);

        public override ValidationResult Validate(ValidationContext<T> context)
        {
            Interlocked.Increment(ref _seen);
            return new ValidationResult();
        }

        public override Task<ValidationResult> ValidateAsync(ValidationContext<T> context, CancellationToken cancellation = default) =>
            Task.FromResult(Validate(context));
    }

    /// <summary>The real registry, counting the allocations asked of it.</summary>
    private sealed class CountingRegistry(IAllocationRegistry inner) : IAllocationRegistry
    {
        private int _allocations;

        public int Allocations => Volatile.Read(ref _allocations);

        public IReadOnlyList<PoolUsage> Pools => inner.Pools;

        public StackAllocationResult Allocate(LoadBalancerRequest request)
        {
            Interlocked.Increment(ref _allocations);
            return inner.Allocate(request);
        }

        public IReadOnlyList<IpRelease> Release(ServiceKey service) => inner.Release(service);

        public RestoreReport Restore(IReadOnlyList<RestoredAssignment> assignments) => inner.Restore(assignments);

        public IReadOnlyList<IpLease> Leases() => inner.Leases();

        public IReadOnlyList<IpAllocation> FindAssignments(ServiceKey service) => inner.FindAssignments(service);

        public PoolReconfiguration Reconfigure(IReadOnlyList<AddressPool> pools) => inner.Reconfigure(pools);
    }
}
