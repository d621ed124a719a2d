using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Loopback;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure;

public static class DependencyInjection
{
    /// <summary>
    /// The adapters: the loopback link device and the log-based event recorder used without a cluster, and the TCP
    /// forwarder, and the rtnetlink device when one is configured. The Kubernetes adapters register here as they arrive.
    /// </summary>
    /// <param name="linkDevice">The device for load-balancer addresses over rtnetlink; null keeps the loopback device
    /// (standalone pools inside 127/8 need no address on any link).</param>
    /// <param name="announcements">Gratuitous ARP / unsolicited NA after an address is added to <paramref name="linkDevice"/>.</param>
    public static IServiceCollection AddInfrastructure(
        this IServiceCollection services,
        ForwarderOptions? forwarding = null,
        LinkDeviceOptions? linkDevice = null,
        AnnouncementOptions? announcements = null)
    {
        if (linkDevice is not null)
        {
            var announce = announcements ?? new AnnouncementOptions();
            services.TryAddSingleton(linkDevice);
            services.TryAddSingleton(announce);
            services.TryAddSingleton<IAddressAnnouncer>(provider => announce.Enabled
                ? new GratuitousAnnouncer(announce, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<GratuitousAnnouncer>>())
                : NoAnnouncer.Instance);
            services.TryAddSingleton<ILinkDevice>(provider => new NetlinkLinkDevice(
                linkDevice, provider.GetRequiredService<ILogger<NetlinkLinkDevice>>(), provider.GetRequiredService<IAddressAnnouncer>()));
        }

        services.TryAddSingleton<ILinkDevice, LoopbackLinkDevice>();
        services.TryAddSingleton<IEventRecorder, LoggingEventRecorder>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(forwarding ?? new ForwarderOptions());
        services.TryAddSingleton<IForwarder, TcpForwarder>();
        return services;
    }
}
