namespace LoadBalancer.Infrastructure.Forwarding.Backends;

/// <summary>
/// The backends of a listener at one moment, immutable: a new snapshot is swapped in when the set or a backend's health
/// changes, so picking a backend takes no lock.
/// </summary>
internal sealed class BackendSnapshot
{
    public static BackendSnapshot Empty { get; } = new([]);

    public BackendSnapshot(BackendState[] all)
    {
        All = all;
        var healthy = Array.FindAll(all, backend => backend.Endpoint.Ready && backend.Health.IsAvailable);
        IsFallback = healthy.Length == 0 && all.Length > 0;
        Available = IsFallback ? Fallback(all) : healthy;
    }

    public BackendState[] All { get; }

    /// <summary>
    /// Ready and healthy backends; when none is, every ready one (and failing that every one): the original's choice
    /// of trying a possibly sick backend over refusing every client.
    /// </summary>
    public BackendState[] Available { get; }

    /// <summary>True when <see cref="Available"/> holds backends that failed their checks, because no other is left.</summary>
    public bool IsFallback { get; }

    private static BackendState[] Fallback(BackendState[] all)
    {
        var ready = Array.FindAll(all, backend => backend.Endpoint.Ready);
        return ready.Length > 0 ? ready : all;
    }
}
