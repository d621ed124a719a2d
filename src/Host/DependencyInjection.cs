using LoadBalancer.Application;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Infrastructure;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host;

public static class DependencyInjection
{
    /// <summary>Every layer, composed: what the daemon runs and what integration tests start.</summary>
    public static IServiceCollection AddLoadBalancer(this IServiceCollection services, AllocationOptions? allocation = null) =>
        services
            .AddApplication(allocation)
            .AddInfrastructure()
            .AddLoadBalancerMediator();

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
