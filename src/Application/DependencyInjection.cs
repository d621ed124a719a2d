using FluentValidation;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Services;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application;

public static class DependencyInjection
{
    /// <summary>
    /// The allocator, the registry of applied Services, their options and the validators. The mediator itself is
    /// generated in the Host.
    /// </summary>
    /// <remarks>A bad pool surfaces as an <see cref="OptionsValidationException"/> listing every problem, the first time
    /// <see cref="IAllocationRegistry"/> is resolved.</remarks>
    public static IServiceCollection AddApplication(this IServiceCollection services, AllocationOptions? allocation = null, ServiceOptions? serviceOptions = null)
    {
        services.AddSingleton(Options.Create(allocation ?? new AllocationOptions()));
        services.AddSingleton<IAllocationRegistry, AllocationRegistry>();
        services.AddSingleton(Options.Create(serviceOptions ?? new ServiceOptions()));
        services.AddSingleton<IAppliedServiceRegistry, AppliedServiceRegistry>();

        // Singleton: the mediator is a singleton and may not consume scoped validators.
        services.AddValidatorsFromAssemblyContaining<AllocationOptions>(ServiceLifetime.Singleton, includeInternalTypes: true);
        return services;
    }
}
