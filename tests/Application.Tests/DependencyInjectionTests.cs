using FluentValidation;
using LoadBalancer.Application.Abstractions;
using Mediator;
using NSubstitute;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Allocation.GetAllocations;
using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Common.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using AllocateCommand = LoadBalancer.Application.Allocation.AllocateLoadBalancerIp.AllocateLoadBalancerIp;
using GetAllocationsQuery = LoadBalancer.Application.Allocation.GetAllocations.GetAllocations;
using ReconfigureCommand = LoadBalancer.Application.Allocation.ReconfigurePools.ReconfigurePools;
using ReleaseCommand = LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp.ReleaseLoadBalancerIp;
using RestoreCommand = LoadBalancer.Application.Allocation.RestoreAllocations.RestoreAllocations;

namespace LoadBalancer.Application.Tests;

public sealed class DependencyInjectionTests
{
    private static readonly ServiceProviderOptions Strict = new() { ValidateScopes = true, ValidateOnBuild = true };

    /// <summary>What the outer layers provide: the adapters' ports and the mediator, which is generated in the Host.</summary>
    private static IServiceCollection Adapters() =>
        new ServiceCollection()
            .AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(Microsoft.Extensions.Logging.Abstractions.NullLogger<>))
            .AddSingleton(Substitute.For<ISender>())
            .AddSingleton(Substitute.For<IServiceSource>())
            .AddSingleton(Substitute.For<IServiceStatusWriter>())
            .AddSingleton(Substitute.For<IEventRecorder>());

    [Fact]
    public void AddApplication_RegistersAllocationRegistryAsSingleton()
    {
        var services = Adapters().AddApplication();

        var descriptor = Assert.Single(services, service => service.ServiceType == typeof(IAllocationRegistry));
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
        using var provider = services.BuildServiceProvider(Strict);
        using var scope = provider.CreateScope();
        Assert.Same(provider.GetRequiredService<IAllocationRegistry>(), scope.ServiceProvider.GetRequiredService<IAllocationRegistry>());
    }

    [Fact]
    public void AddApplication_RegistersEveryValidatorAsSingleton()
    {
        var services = Adapters().AddApplication();

        var validators = services
            .Where(service => service.ServiceType.IsGenericType && service.ServiceType.GetGenericTypeDefinition() == typeof(IValidator<>))
            .ToList();

        Assert.Equal(
            new[]
                {
                    typeof(AllocateCommand), typeof(GetAllocationsQuery), typeof(ReconfigureCommand), typeof(ReleaseCommand), typeof(RestoreCommand), typeof(RestoredService),
                    typeof(ServiceSpec),
                    typeof(LoadBalancer.Application.Services.ApplyService.ApplyService), typeof(LoadBalancer.Application.Services.RemoveService.RemoveService),
                }
                .Select(type => type.FullName).Order(StringComparer.Ordinal),
            validators.Select(service => service.ServiceType.GenericTypeArguments[0].FullName).Order(StringComparer.Ordinal));
        Assert.All(validators, service => Assert.Equal(ServiceLifetime.Singleton, service.Lifetime));
    }

    [Fact]
    public void AddApplication_ValidatorsResolveFromRootProviderWithScopeValidation()
    {
        using var provider = Adapters().AddApplication().BuildServiceProvider(Strict);

        Assert.IsType<AllocateLoadBalancerIpValidator>(provider.GetRequiredService<IValidator<AllocateCommand>>());
        Assert.IsType<ReleaseLoadBalancerIpValidator>(provider.GetRequiredService<IValidator<ReleaseCommand>>());
        Assert.IsType<RestoreAllocationsValidator>(provider.GetRequiredService<IValidator<RestoreCommand>>());
        Assert.IsType<RestoredServiceValidator>(provider.GetRequiredService<IValidator<RestoredService>>());
        Assert.IsType<GetAllocationsValidator>(provider.GetRequiredService<IValidator<GetAllocationsQuery>>());
    }

    [Fact]
    public void AddApplication_SingletonValidationBehaviorCanConsumeValidators()
    {
        // The generated mediator is a singleton and builds its pipeline behaviours from the root provider.
        var services = Adapters().AddApplication();
        services.AddSingleton(typeof(ValidationBehavior<,>));
        using var provider = services.BuildServiceProvider(Strict);

        var behavior = provider.GetRequiredService<ValidationBehavior<AllocateCommand, AllocateLoadBalancerIpResponse>>();

        Assert.NotNull(behavior);
    }

    [Fact]
    public async Task AddApplication_ResolvedValidatorsAndRegistry_ServeTheRestoreHandler()
    {
        using var provider = Adapters().AddApplication().BuildServiceProvider(Strict);
        var handler = new RestoreAllocationsHandler(
            provider.GetRequiredService<IAllocationRegistry>(),
            provider.GetRequiredService<IValidator<RestoredService>>(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<RestoreAllocationsHandler>.Instance);

        var response = await handler.Handle(
            new RestoreCommand([new RestoredService(TestData.Spec("web", 80), "192.168.0.230")]), CancellationToken.None);

        Assert.Single(response.Report!.Restored);
    }

    [Fact]
    public void AddApplication_GivenOptions_UsesTheirPool()
    {
        using var provider = Adapters()
            .AddApplication(new AllocationOptions { Pool = "10.0.0.8/29" })
            .BuildServiceProvider(Strict);

        Assert.Equal("10.0.0.8/29", Assert.Single(provider.GetRequiredService<IAllocationRegistry>().Pools).Addresses.ToString());
    }

    [Fact]
    public void AddApplication_WithoutOptions_UsesDefaultPool()
    {
        using var provider = Adapters().AddApplication().BuildServiceProvider(Strict);

        Assert.Equal(AllocationOptions.DefaultPool, Assert.Single(provider.GetRequiredService<IAllocationRegistry>().Pools).Addresses.ToString());
    }

    [Fact]
    public void AddApplication_BadPool_ThrowsListingEveryErrorWhenRegistryIsResolved()
    {
        using var provider = Adapters()
            .AddApplication(new AllocationOptions { Pool = "10.0.0.0/33", Excluded = "nope" })
            .BuildServiceProvider(Strict);

        var thrown = Assert.Throws<OptionsValidationException>(provider.GetRequiredService<IAllocationRegistry>);

        Assert.Equal(
            [
                "restrictedCidr: '10.0.0.0/33' is not a CIDR, range or address: prefix length '33' must be a number from 0 to 32",
                "exclude: 'nope' is not a CIDR, range or address: invalid IP address: nope",
            ],
            thrown.Failures);
    }

    [Fact]
    public void ForwarderStatistics_AreTheRegisteredForwardersOwn_WhenItCountsTraffic()
    {
        var forwarder = Substitute.For<IForwarder, IForwarderStatistics>();
        using var provider = Adapters().AddSingleton(forwarder).AddApplication().BuildServiceProvider(Strict);

        Assert.Same(forwarder, provider.GetRequiredService<IForwarderStatistics>());
    }

    [Fact]
    public void ForwarderStatistics_AreEmpty_WhenTheForwarderCountsNothing()
    {
        using var provider = Adapters().AddSingleton(Substitute.For<IForwarder>()).AddApplication().BuildServiceProvider(Strict);

        Assert.Empty(provider.GetRequiredService<IForwarderStatistics>().GetAllStatistics());
    }

    [Fact]
    public void DaemonStateHandler_IsComposed_WithoutASourceOrAForwarder()
    {
        // The mediator resolves every handler up front: the state query must not need what only a serving mode has.
        using var provider = new ServiceCollection()
            .AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(Microsoft.Extensions.Logging.Abstractions.NullLogger<>))
            .AddApplication()
            .BuildServiceProvider();

        var handler = ActivatorUtilities.CreateInstance<LoadBalancer.Application.State.GetDaemonState.GetDaemonStateHandler>(provider);

        Assert.NotNull(handler);
    }
}
