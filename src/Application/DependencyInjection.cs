using FluentValidation;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Application;

public static class DependencyInjection
{
    /// <summary>
    /// The allocator, the registry of applied Services, the reconciler and its options, and the validators. The
    /// mediator itself is generated in the Host; a source (<see cref="IServiceSource"/>), a status sink and an event
    /// recorder come from the adapters, and the leadership too when there are peers (a single daemon always serves).
    /// </summary>
    /// <remarks>A bad pool surfaces as an <see cref="OptionsValidationException"/> listing every problem, the first time
    /// <see cref="IAllocationRegistry"/> is resolved.</remarks>
    public static IServiceCollection AddApplication(
        this IServiceCollection services,
        AllocationOptions? allocation = null,
        ServiceOptions? serviceOptions = null,
        ReconcilerOptions? reconciler = null)
    {
        services.AddSingleton(Options.Create(allocation ?? new AllocationOptions()));
        services.AddSingleton<IValidateOptions<AllocationOptions>, AllocationOptionsValidator>();
        services.AddSingleton<IAllocationRegistry, AllocationRegistry>();
        services.AddSingleton(Options.Create(serviceOptions ?? new ServiceOptions()));
        services.AddSingleton<IAppliedServiceRegistry, AppliedServiceRegistry>();

        // The forwarder that counts says so by implementing the port; one that does not (a fake) shows no traffic. Read
        // through IForwarder, so that whichever forwarder is registered is the one whose counters are shown.
        services.TryAddSingleton<IForwarderStatistics>(provider =>
            provider.GetService<IForwarder>() as IForwarderStatistics ?? NoForwarderStatistics.Instance);

        services.AddSingleton(Options.Create(reconciler ?? new ReconcilerOptions()));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ReconcileQueue>();
        services.AddSingleton<IReconcileQueue>(provider => provider.GetRequiredService<ReconcileQueue>());
        services.AddSingleton<RecentEvents>();
        services.AddSingleton<ReconcilerState>();
        services.AddSingleton<IReconcilerState>(provider => provider.GetRequiredService<ReconcilerState>());
        services.AddSingleton<RecordedAllocations>();
        services.AddSingleton<IServiceReconciler, ServiceReconciler>();

        // Instruments (docs/observability.md); created with the metrics provider, when there is one, through the marker.
        services.AddMetrics();
        services.AddSingleton<AllocationMetrics>();
        services.AddSingleton<IMetricsInstrumentation>(provider => provider.GetRequiredService<AllocationMetrics>());
        services.AddSingleton<ReconcileMetrics>();
        services.AddSingleton<IMetricsInstrumentation>(provider => provider.GetRequiredService<ReconcileMetrics>());
        services.TryAddSingleton<ILeadership, SoleLeadership>();
        services.AddSingleton<ServingDaemon>();
        services.AddSingleton<DaemonReadiness>();
        services.AddSingleton<DaemonLiveness>();

        // Singleton: the mediator is a singleton and may not consume scoped validators.
        services.AddValidatorsFromAssemblyContaining<AllocationOptions>(ServiceLifetime.Singleton, includeInternalTypes: true);
        return services;
    }
}
