using k8s;
using LoadBalancer.Domain.Services;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Status;

namespace LoadBalancer.Host.Cluster;

/// <summary>From the configuration to the Kubernetes adapter's options.</summary>
public static class ClusterSettings
{
    public static KubernetesAdapterOptions Adapter(DaemonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var defaults = new KubernetesAdapterOptions();
        var inPod = settings.Kubeconfig is null && KubernetesClientConfiguration.IsInCluster();
        var election = defaults.LeaderElection;
        return defaults with
        {
            Services = defaults.Services with
            {
                LoadBalancerClass = string.IsNullOrWhiteSpace(settings.LoadBalancerClass) ? null : settings.LoadBalancerClass,
                ServeUnclassed = settings.ServesUnclassed,
                Backends = settings.Backends?.Trim().ToLowerInvariant() switch
                {
                    "endpoints" => BackendMode.Endpoints,
                    "nodeports" => BackendMode.NodePorts,
                    _ => inPod ? BackendMode.Endpoints : BackendMode.NodePorts,
                },
                WorkerSelector = settings.WorkerSelector ?? KubernetesServiceOptions.DefaultWorkerSelector,
                AddressTypes = settings.NodeAddressTypes?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    ?? defaults.Services.AddressTypes,
                DefaultPolicy = settings.BalancingPolicy,
            },
            Status = new KubernetesStatusOptions { SetExternalIps = settings.SetsExternalIps },
            WorkerNodes = TaggedLabel(defaults.WorkerNodes with { Tag = settings.TagsWorkerNodes }, settings.WorkerSelector),
            LeaderElection = election with
            {
                Enabled = settings.LeaderElection.IsEnabled,
                Namespace = settings.LeaderElection.Namespace ?? election.Namespace,
                Name = settings.LeaderElection.Name ?? election.Name,
                Identity = settings.LeaderElection.Identity ?? election.Identity,
            },
        };
    }

    /// <summary>
    /// What --tag-worker-nodes writes: the label the worker selector asks for when one label satisfies it, so that a
    /// tagged node becomes a worker; <c>node-role.kubernetes.io/worker=</c> otherwise (the default selector, several
    /// requirements, <c>!key</c>, <c>key!=value</c>). An invalid selector is refused by the options' validation.
    /// </summary>
    private static WorkerNodeOptions TaggedLabel(WorkerNodeOptions options, string? selector) =>
        LabelSelector.TryParse(selector, out var parsed, out _) && parsed.TryGetSatisfyingLabel(out var key, out var value)
            ? options with { LabelKey = key, LabelValue = value }
            : options;
}
