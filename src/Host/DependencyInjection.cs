using LoadBalancer.Application;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Services;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Host.Standalone;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LoadBalancer.Host;

public static class DependencyInjection
{
    /// <summary>
    /// Every layer, composed: what the daemon runs and what integration tests start. Without an adapter that writes
    /// Service status somewhere (the Kubernetes one, later), status is kept in memory.
    /// </summary>
    public static IServiceCollection AddLoadBalancer(
        this IServiceCollection services,
        AllocationOptions? allocation = null,
        ForwarderOptions? forwarding = null,
        ServiceOptions? serviceOptions = null,
        LinkDeviceOptions? linkDevice = null,
        AnnouncementOptions? announcements = null) =>
        services
            .AddApplication(allocation, serviceOptions)
            .AddInfrastructure(forwarding, linkDevice, announcements)
            .AddInMemoryStatus()
            .AddLoadBalancerMediator();

    private static IServiceCollection AddInMemoryStatus(this IServiceCollection services)
    {
        services.TryAddSingleton<IServiceStatusWriter, StandaloneStatusWriter>();
        return services;
    }

    /// <summary>
    /// The source-generated mediator. It lives here because only the outermost project may run the generator; the
    /// options must be compile-time constants.
    /// </summary>
    public static IServiceCollection AddLoadBalancerMediator(this IServiceCollection services) =>
        services.AddMediator((MediatorOptions options) =>
        {
            options.Namespace = "LoadBalancer.Host.Mediator";
            options.ServiceLifetime = ServiceLifetime.Singleton;
            options.GenerateTypesAsInternal = true;
            options.NotificationPublisherType = typeof(ForeachAwaitPublisher);
            options.Assemblies = [typeof(AllocationOptions)];
            options.PipelineBehaviors = [typeof(ValidationBehavior<,>)];
        });
}
