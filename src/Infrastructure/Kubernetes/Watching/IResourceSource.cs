using k8s;
using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>One page of a list: its items, the snapshot's resourceVersion, and the token of the next page (null on the last).</summary>
internal sealed record ResourcePage<T>(IReadOnlyList<T> Items, string ResourceVersion, string? Continue);

/// <summary>
/// Lists and watches one kind of object. The informer depends on this, not on the client, so one informer serves
/// Services, Nodes and EndpointSlices, and tests can feed it scripted lists and watches.
/// </summary>
internal interface IResourceSource<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>The kind's name for log lines, e.g. "Service".</summary>
    string Kind { get; }

    /// <summary>One page of the list; <paramref name="continueToken"/> is null for the first page.</summary>
    /// <exception cref="ResourceExpiredException">The continue token has expired (410 Gone).</exception>
    Task<ResourcePage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The changes after <paramref name="resourceVersion"/>, bookmarks included, until the server ends the watch
    /// (after about <paramref name="timeout"/>) or the connection drops.
    /// </summary>
    /// <exception cref="ResourceExpiredException">
    /// <paramref name="resourceVersion"/> is too old for the server (410 Gone, reason Expired); only a new list helps.
    /// </exception>
    IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(string resourceVersion, TimeSpan timeout, CancellationToken cancellationToken);
}
