namespace LoadBalancer.Infrastructure.Kubernetes.Pacing;

/// <summary>Who goes first when requests wait for a token.</summary>
internal enum RequestPriority
{
    /// <summary>Status writes, reads, watches, the Lease: what serving and leadership wait for.</summary>
    Normal,

    /// <summary>Event writes: nobody waits for them, so they take the tokens nothing else is waiting for.</summary>
    Background,
}
