using System.Diagnostics.CodeAnalysis;
using k8s;
using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>
/// A cache of every object of one kind, kept current by listing and then watching, and the changes to it.
/// </summary>
/// <remarks>
/// The objects handed out (by <see cref="List"/>, <see cref="Get(string?, string)"/> and in changes) are the cached
/// instances, shared with every other reader: callers must never mutate them. The informer never does either; a change
/// replaces an instance.
/// </remarks>
internal interface IResourceInformer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>
    /// Raised on the informer's loop, after the cache has been updated, for each added, modified or deleted object. A
    /// handler that throws is logged and the others still run.
    /// </summary>
    event Action<ResourceChange<T>>? Changed;

    /// <summary>
    /// Raised after each completed list (the first and each relist after an expiry), once its changes have been raised,
    /// so a consumer can resync everything it derives from the cache.
    /// </summary>
    event Action? Synced;

    /// <summary>The kind's name, e.g. "Service".</summary>
    string Kind { get; }

    /// <summary>Whether the first list has completed, so the cache holds everything there was then.</summary>
    bool HasSynced { get; }

    /// <summary>The resourceVersion the cache is current to; null before the first list.</summary>
    string? ResourceVersion { get; }

    /// <summary>How many objects the cache holds.</summary>
    int Count { get; }

    /// <summary>
    /// Lists and watches until <paramref name="cancellationToken"/> is cancelled, recovering from every failure on its
    /// own; it then returns. It runs once at a time.
    /// </summary>
    Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Completes when the first list has completed.</summary>
    Task WaitForSyncAsync(CancellationToken cancellationToken);

    /// <summary>A snapshot of the cache: later changes do not show in it.</summary>
    IReadOnlyCollection<T> List();

    /// <summary>The cached object, or null; <paramref name="namespace"/> is null or empty for cluster-scoped kinds.</summary>
    [SuppressMessage("Naming", "CA1716", Justification = "Kubernetes calls it a namespace; no VB caller implements this.")]
    T? Get(string? @namespace, string name);

    [SuppressMessage("Naming", "CA1716", Justification = "No VB caller implements this.")]
    T? Get(ObjectKey key);
}
