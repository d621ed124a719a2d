namespace LoadBalancer.Infrastructure.Kubernetes.Reconciliation;

/// <summary>How the cluster controller works its queue and hands over.</summary>
public sealed record ControllerOptions
{
    /// <summary>Services reconciled at once (one at a time per Service whatever this is).</summary>
    public int Workers { get; init; } = 4;

    /// <summary><c>--tag-worker-nodes</c>: label nodes that lack the worker label, at start and when a node is added.</summary>
    public bool TagWorkerNodes { get; init; }

    /// <summary>
    /// How long open connections may drain when the daemon shuts down. Short, because the Lease is released only
    /// after it, and a standby waits for that.
    /// </summary>
    public TimeSpan ShutdownDrain { get; init; } = TimeSpan.FromSeconds(1);
}
