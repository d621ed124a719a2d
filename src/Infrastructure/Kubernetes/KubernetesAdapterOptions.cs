using LoadBalancer.Infrastructure.Kubernetes.Events;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Kubernetes;

/// <summary>Everything the cluster mode is configured with, one record per concern.</summary>
public sealed record KubernetesAdapterOptions
{
    public KubernetesServiceOptions Services { get; init; } = new();

    public KubernetesStatusOptions Status { get; init; } = new();

    public KubernetesEventOptions Events { get; init; } = new();

    public WorkerNodeOptions WorkerNodes { get; init; } = new();

    public LeaderElectionOptions LeaderElection { get; init; } = new();

    public InformerOptions Informers { get; init; } = new();

    /// <summary>Every problem, each naming the option and the value.</summary>
    public IReadOnlyList<string> Validate() =>
    [
        .. Services.Validate(),
        .. LeaderElection.Enabled ? LeaderElection.Validate() : [],
        .. Events.Validate(),
        .. Informers.Validate(),
    ];
}
