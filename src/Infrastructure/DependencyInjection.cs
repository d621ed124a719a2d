using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Networking.Loopback;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LoadBalancer.Infrastructure;

public static class DependencyInjection
{
    /// <summary>
    /// The adapters. Today: the loopback link device and the log-based event recorder used without a cluster; the
    /// netlink device, the splice forwarder and the Kubernetes adapters register here as they arrive.
    /// </summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services)
    {
        services.TryAddSingleton<ILinkDevice, LoopbackLinkDevice>();
        services.TryAddSingleton<IEventRecorder, LoggingEventRecorder>();
        return services;
    }
}
