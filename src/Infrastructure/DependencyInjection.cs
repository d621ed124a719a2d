using k8s;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Events;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Reconciliation;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.Events;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Loopback;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure;

public static class DependencyInjection
{
    /// <summary>
    /// The adapters: the loopback link device and the log-based event recorder used without a cluster, and the TCP
    /// forwarder, and the rtnetlink device when one is configured.
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

    /// <summary>
    /// The cluster's adapters: informers for Services, Nodes and EndpointSlices, the status writer and the Event recorder
    /// (in place of the in-memory and log-only ones), the Lease, and the controller that ties them to the commands.
    /// Order does not matter: the Kubernetes writers replace whatever was registered before them.
    /// </summary>
    public static IServiceCollection AddKubernetesAdapter(this IServiceCollection services, IKubernetes client, KubernetesAdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(client);
        services.AddSingleton(options);
        services.AddSingleton(provider => Informer(provider, KubernetesResourceSources.Services(client), options));
        services.AddSingleton(provider => Informer(provider, KubernetesResourceSources.Nodes(client), options));
        services.AddSingleton(provider => Informer(provider, KubernetesResourceSources.EndpointSlices(client), options));
        services.AddSingleton<IServiceLookup>(provider => new InformerServiceLookup(provider.GetRequiredService<ResourceInformer<V1Service>>()));
        services.Replace(ServiceDescriptor.Singleton<IServiceStatusWriter>(provider => new KubernetesStatusWriter(
            client, provider.GetRequiredService<IServiceLookup>(), options.Status, provider.GetRequiredService<ILogger<KubernetesStatusWriter>>())));
        services.Replace(ServiceDescriptor.Singleton<IEventRecorder>(provider => new KubernetesEventRecorder(
            client, provider.GetRequiredService<IServiceLookup>(), options.Events, provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<KubernetesEventRecorder>>())));
        services.AddSingleton(provider => new WorkerNodeTagger(client, options.WorkerNodes, provider.GetRequiredService<ILogger<WorkerNodeTagger>>()));
        services.AddSingleton(provider => new ServiceController(
            provider.GetRequiredService<ResourceInformer<V1Service>>(),
            provider.GetRequiredService<ResourceInformer<V1Node>>(),
            provider.GetRequiredService<ResourceInformer<V1EndpointSlice>>(),
            provider.GetRequiredService<ISender>(),
            provider.GetRequiredService<IServiceStatusWriter>(),
            provider.GetRequiredService<IEventRecorder>(),
            options.Services,
            options.Controller,
            options.LeaderElection.Enabled
                ? new LeaseElector(client, options.LeaderElection, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<LeaseElector>>())
                : null,
            provider.GetRequiredService<WorkerNodeTagger>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<ServiceController>>()));
        return services;
    }

    private static ResourceInformer<T> Informer<T>(IServiceProvider provider, IResourceSource<T> source, KubernetesAdapterOptions options)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        new(source, options.Informers, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<ResourceInformer<T>>>());
}
