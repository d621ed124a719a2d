using System.Collections.Concurrent;
using k8s.Models;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Source;

/// <summary>
/// The EndpointSlices of each Service, kept up to date from the slice informer's changes, so that a reconcile reads a
/// Service's few slices instead of scanning all of them.
/// </summary>
internal sealed class EndpointSliceIndex
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    private readonly ConcurrentDictionary<ServiceKey, ConcurrentDictionary<string, V1EndpointSlice>> _byService = new();

    /// <summary>The Service a slice belongs to; null for a slice without the label (managed by someone else, for no Service).</summary>
    public static ServiceKey? ServiceOf(V1EndpointSlice? slice) =>
        slice?.Metadata?.Labels is { } labels && labels.TryGetValue(ServiceNameLabel, out var name) && !string.IsNullOrEmpty(name)
            ? new ServiceKey(slice.Metadata.NamespaceProperty ?? string.Empty, name)
            : null;

    public void Put(V1EndpointSlice slice)
    {
        if (ServiceOf(slice) is { } service && slice.Metadata?.Name is { } name)
        {
            _byService.GetOrAdd(service, _ => new ConcurrentDictionary<string, V1EndpointSlice>(StringComparer.Ordinal))[name] = slice;
        }
    }

    public void Remove(V1EndpointSlice slice)
    {
        if (ServiceOf(slice) is { } service && slice.Metadata?.Name is { } name && _byService.TryGetValue(service, out var slices))
        {
            slices.TryRemove(name, out _);
        }
    }

    public IReadOnlyCollection<V1EndpointSlice> Of(ServiceKey service) =>
        _byService.TryGetValue(service, out var slices) ? [.. slices.Values] : [];
}
