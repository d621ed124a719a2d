using LoadBalancer.Infrastructure.Admin;
using System.Diagnostics.Metrics;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Infrastructure.Standalone;
using LoadBalancer.Infrastructure.Standalone.State;
using Microsoft.Extensions.Hosting;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking;
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
    /// The adapters every mode uses: the TCP forwarder, the link device (rtnetlink when one is configured, else the
    /// loopback one) and its announcer, and events as log lines (a source with a better place replaces it).
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
        // Instruments (docs/observability.md). The link device needs the meter factory even where the Application, which
        // adds it too, is not composed (`forward`).
        services.AddMetrics();
        services.TryAddSingleton<LinkMetrics>();
        services.AddSingleton<IMetricsInstrumentation>(provider => provider.GetRequiredService<LinkMetrics>());
        if (linkDevice is not null)
        {
            var announce = announcements ?? new AnnouncementOptions();
            services.TryAddSingleton(linkDevice);
            services.TryAddSingleton(announce);
            services.TryAddSingleton<AnnouncementMetrics>();
            services.TryAddSingleton<IAddressAnnouncer>(provider => announce.Enabled
                ? new GratuitousAnnouncer(
                    announce, provider.GetRequiredService<AnnouncementMetrics>(), provider.GetRequiredService<TimeProvider>(),
                    provider.GetRequiredService<ILogger<GratuitousAnnouncer>>())
                : NoAnnouncer.Instance);
            services.TryAddSingleton<ILinkDevice>(provider => new NetlinkLinkDevice(
                linkDevice, provider.GetRequiredService<LinkMetrics>(), provider.GetRequiredService<ILogger<NetlinkLinkDevice>>(),
                provider.GetRequiredService<IAddressAnnouncer>()));
        }

        services.TryAddSingleton<ILinkDevice, LoopbackLinkDevice>();
        services.TryAddSingleton<IEventRecorder, LoggingEventRecorder>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(forwarding ?? new ForwarderOptions());
        services.TryAddSingleton<IForwarder, TcpForwarder>();
        services.AddSingleton<IMetricsInstrumentation>(provider => new ForwardingMetrics(
            provider.GetRequiredService<IMeterFactory>(), provider.GetRequiredService<IForwarderStatistics>(), provider.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// A Services file as the source of Services: its reader and watcher, the state file that keeps each Service's IP
    /// across restarts (the status sink of this mode), and the report of what runs on <paramref name="console"/>. Events
    /// stay log lines.
    /// </summary>
    public static IServiceCollection AddStandaloneAdapter(
        this IServiceCollection services, StandaloneOptions options, StandaloneStateOptions state, StandaloneConsole console)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(console);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(state);
        services.AddSingleton(console);
        services.AddSingleton<IStandaloneState, StandaloneStateFile>();
        services.Replace(ServiceDescriptor.Singleton<IServiceStatusWriter>(provider => provider.GetRequiredService<IStandaloneState>()));
        services.AddSingleton<StandaloneServiceSource>();
        services.AddSingleton<IServiceSource>(provider => provider.GetRequiredService<StandaloneServiceSource>());
        services.AddSingleton<IServicesFileReader>(provider => provider.GetRequiredService<StandaloneServiceSource>());
        services.AddSingleton<IHostedService, StandaloneReport>();
        return services;
    }

    /// <summary>
    /// The read-only admin endpoint (Admin/): probes and the state API on <paramref name="options"/>' address; nothing
    /// when that is <c>none</c>. For the modes that serve Services (their source and reconciler answer readiness).
    /// </summary>
    public static IServiceCollection AddAdminEndpoint(this IServiceCollection services, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.EndPoint is null)
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddMetricsExport();
        services.AddSingleton<IHostedService, AdminEndpoint>();
        return services;
    }
}
