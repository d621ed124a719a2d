namespace LoadBalancer.Infrastructure.Kubernetes.Nodes;

/// <summary>The label that marks a node as a worker, as <c>kubectl label node NAME node-role.kubernetes.io/worker=</c> sets it.</summary>
public sealed record WorkerNodeOptions
{
    /// <summary><c>--tag-worker-nodes</c>: label nodes that lack the label, at start and when a node joins.</summary>
    public bool Tag { get; init; }

    public string LabelKey { get; init; } = "node-role.kubernetes.io/worker";

    public string LabelValue { get; init; } = "";

    /// <summary>The field manager the label patch is made as.</summary>
    public string FieldManager { get; init; } = "little-load-balancer";
}
