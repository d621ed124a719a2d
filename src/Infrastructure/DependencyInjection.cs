using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Loopback;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LoadBalancer.Infrastructure;

public static class DependencyInjection
{
    /// <summary>
    /// The adapters: the loopback link device and the log-based event recorder used without a cluster, and the TCP
    /// forwarder. The netlink device and the Kubernetes adapters register here as they arrive.
    /// </summary>
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, ForwarderOptions? forwarding = null)
    {
        services.TryAddSingleton<ILinkDevice, LoopbackLinkDevice>();
        services.TryAddSingleton<IEventRecorder, LoggingEventRecorder>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(forwarding ?? new ForwarderOptions());
        services.TryAddSingleton<IForwarder, TcpForwarder>();
        return services;
    }
}
