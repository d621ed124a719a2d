using k8s;
using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>The kinds the load balancer watches, each read across all namespaces through the client.</summary>
internal static class KubernetesResourceSources
{
    public static IResourceSource<V1Service> Services(IKubernetes client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new KubernetesResourceSource<V1Service, V1ServiceList>(
            "Service",
            (continueToken, limit, ct) => client.CoreV1.ListServiceForAllNamespacesAsync(
                continueParameter: continueToken, limit: limit, cancellationToken: ct),
            (resourceVersion, timeoutSeconds, onError, ct) => client.CoreV1.WatchListServiceForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct));
    }

    /// <param name="labelSelector">When set, only the nodes it selects are listed and watched.</param>
    public static IResourceSource<V1Node> Nodes(IKubernetes client, string? labelSelector = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new KubernetesResourceSource<V1Node, V1NodeList>(
            "Node",
            (continueToken, limit, ct) => client.CoreV1.ListNodeAsync(
                continueParameter: continueToken, labelSelector: labelSelector, limit: limit, cancellationToken: ct),
            (resourceVersion, timeoutSeconds, onError, ct) => client.CoreV1.WatchListNodeAsync(
                allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds,
                onError: onError, cancellationToken: ct));
    }

    public static IResourceSource<V1EndpointSlice> EndpointSlices(IKubernetes client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new KubernetesResourceSource<V1EndpointSlice, V1EndpointSliceList>(
            "EndpointSlice",
            (continueToken, limit, ct) => client.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(
                continueParameter: continueToken, limit: limit, cancellationToken: ct),
            (resourceVersion, timeoutSeconds, onError, ct) => client.DiscoveryV1.WatchListEndpointSliceForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct));
    }
}
