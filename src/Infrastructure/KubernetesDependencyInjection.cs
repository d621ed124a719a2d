using k8s;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Events;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Source;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure;

/// <summary>
/// The cluster mode's adapter, apart from <see cref="DependencyInjection"/>: a class whose methods name KubernetesClient's
/// types (the informers' constraint <c>IKubernetesObject&lt;V1ObjectMeta&gt;</c>) makes the runtime load that 12 MB
/// assembly as soon as the class is, about 3 MiB of resident memory in <c>forward</c>, which never talks to a cluster
/// (docs/adr/0011-memory-footprint.md).
/// </summary>
public static class KubernetesDependencyInjection
{
    /// <summary>
    /// The cluster as the source of Services: informers for Services, Nodes and EndpointSlices, the status writer and
    /// the Event recorder (in place of the log-only one), the Lease when replicas elect a leader, and worker tagging
    /// when asked for.
    /// </summary>
    public static IServiceCollection AddKubernetesAdapter(this IServiceCollection services, IKubernetes client, KubernetesAdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(client);
        services.AddSingleton(options);
        services.TryAddSingleton<InformerMetrics>();
        services.AddSingleton<IResourceInformer<V1Service>>(provider => Informer(provider, KubernetesResourceSources.Services(client), options));
        services.AddSingleton<IResourceInformer<V1Node>>(provider => Informer(provider, KubernetesResourceSources.Nodes(client), options));
        services.AddSingleton<IResourceInformer<V1EndpointSlice>>(provider => Informer(provider, KubernetesResourceSources.EndpointSlices(client), options));
        services.AddSingleton<IServiceLookup>(provider => new InformerServiceLookup(provider.GetRequiredService<IResourceInformer<V1Service>>()));
        services.AddSingleton<IServiceSource>(provider => new KubernetesServiceSource(
            provider.GetRequiredService<IResourceInformer<V1Service>>(),
            provider.GetRequiredService<IResourceInformer<V1Node>>(),
            provider.GetRequiredService<IResourceInformer<V1EndpointSlice>>(),
            provider.GetRequiredService<IReconcileQueue>(),
            options.Services,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<KubernetesServiceSource>>()));
        services.Replace(ServiceDescriptor.Singleton<IServiceStatusWriter>(provider => new KubernetesStatusWriter(
            client, provider.GetRequiredService<IServiceLookup>(), options.Status, provider.GetRequiredService<ILogger<KubernetesStatusWriter>>())));
        services.Replace(ServiceDescriptor.Singleton<IEventRecorder>(provider => new KubernetesEventRecorder(
            client, provider.GetRequiredService<IServiceLookup>(), options.Events, provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<KubernetesEventRecorder>>())));
        if (options.LeaderElection.Enabled)
        {
            services.Replace(ServiceDescriptor.Singleton<ILeadership>(provider => new LeaseElector(
                client, options.LeaderElection, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<LeaseElector>>())));
        }

        if (options.WorkerNodes.Tag)
        {
            services.AddSingleton(provider => new WorkerNodeTagger(client, options.WorkerNodes, provider.GetRequiredService<ILogger<WorkerNodeTagger>>()));
            services.AddSingleton<IHostedService>(provider => new WorkerNodeTagging(
                provider.GetRequiredService<IResourceInformer<V1Node>>(), provider.GetRequiredService<WorkerNodeTagger>()));
        }

        return services;
    }

    private static ResourceInformer<T> Informer<T>(IServiceProvider provider, IResourceSource<T> source, KubernetesAdapterOptions options)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        new(source, options.Informers, provider.GetRequiredService<InformerMetrics>(), provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<ResourceInformer<T>>>());
}
