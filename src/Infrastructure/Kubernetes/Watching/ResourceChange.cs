namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

internal enum ChangeType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>
/// One change to an informer's cache. <see cref="Old"/> is the cached object before the change (null when added),
/// <see cref="New"/> the one after it (null when deleted). Both are cached instances: read them, never mutate them.
/// </summary>
internal sealed record ResourceChange<T>(ChangeType Type, T? Old, T? New)
    where T : class
{
    /// <summary>The object the change is about: the new one, or the last known state of a deleted one.</summary>
    public T Latest => New ?? Old ?? throw new InvalidOperationException("A change has an old or a new object.");
}
