using LoadBalancer.Application;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host;

public static class DependencyInjection
{
    /// <summary>
    /// Every layer but the source of Services, composed: a serving mode adds its adapter (the cluster's, the file's).
    /// </summary>
    public static IServiceCollection AddLoadBalancer(
        this IServiceCollection services,
        AllocationOptions? allocation = null,
        ForwarderOptions? forwarding = null,
        ServiceOptions? serviceOptions = null,
        ReconcilerOptions? reconciler = null,
        LinkDeviceOptions? linkDevice = null,
        AnnouncementOptions? announcements = null) =>
        services
            .AddApplication(allocation, serviceOptions, reconciler)
            .AddInfrastructure(forwarding, linkDevice, announcements)
            .AddLoadBalancerMediator();

    /// <summary>
    /// The serving daemon as the host's last hosted service: it starts after the adapter's companions and stops first,
    /// draining and releasing before they go.
    /// </summary>
    public static IServiceCollection AddServingDaemon(this IServiceCollection services) =>
        services.AddHostedService<AdapterActivation>().AddHostedService<ServingDaemonService>();

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
