namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>How one watch of an informer ended, which decides what it does next.</summary>
internal enum WatchOutcome
{
    /// <summary>Ended after working: watch again at once.</summary>
    Ended,

    /// <summary>Ended at once without an event: watch again after a backoff.</summary>
    EndedEarly,

    /// <summary>Silent for too long and cancelled: watch again at once.</summary>
    Silent,

    /// <summary>The resourceVersion has expired: list again, at once unless it was the list's own.</summary>
    Expired,

    /// <summary>Failed: watch again from the same resourceVersion after a backoff.</summary>
    Failed,
}
