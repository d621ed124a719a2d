using k8s;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
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
            WorkerNodes = defaults.WorkerNodes with { Tag = settings.TagsWorkerNodes },
            LeaderElection = election with
            {
                Enabled = settings.LeaderElection.IsEnabled,
                Namespace = settings.LeaderElection.Namespace ?? election.Namespace,
                Name = settings.LeaderElection.Name ?? election.Name,
                Identity = settings.LeaderElection.Identity ?? election.Identity,
            },
        };
    }
}
