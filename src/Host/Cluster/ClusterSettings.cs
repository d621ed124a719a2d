using k8s;
using LoadBalancer.Host.CommandLine;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Networking.Netlink;

namespace LoadBalancer.Host.Cluster;

/// <summary>From the command line to the adapter's options.</summary>
public static class ClusterSettings
{
    /// <summary>
    /// The device for the addresses: the one named, the default route's for "auto" or when none is named, and none (the
    /// loopback device, which needs no address) for a pool inside 127/8, as in standalone mode.
    /// </summary>
    public static LinkDeviceOptions? LinkDevice(CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.LinkDevice is null
            && options.RestrictedCidr.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).All(entry => entry.StartsWith("127.", StringComparison.Ordinal)))
        {
            return null;
        }

        return new LinkDeviceOptions { DeviceName = options.LinkDevice is null or "auto" ? null : options.LinkDevice };
    }

    public static KubernetesAdapterOptions From(CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cluster = options.Cluster;
        var defaults = new KubernetesAdapterOptions();
        var inPod = cluster.Kubeconfig is null && KubernetesClientConfiguration.IsInCluster();
        var election = defaults.LeaderElection;
        return defaults with
        {
            Services = defaults.Services with
            {
                LoadBalancerClass = cluster.LoadBalancerClass,
                ServeUnclassed = !cluster.IgnoreUnclassed,
                Backends = cluster.Backends switch
                {
                    "endpoints" => BackendMode.Endpoints,
                    "nodeports" => BackendMode.NodePorts,
                    _ => inPod ? BackendMode.Endpoints : BackendMode.NodePorts,
                },
                WorkerSelector = cluster.WorkerSelector ?? KubernetesServiceOptions.DefaultWorkerSelector,
                AddressTypes = cluster.NodeAddressTypes ?? defaults.Services.AddressTypes,
                DefaultPolicy = options.Policy,
            },
            Status = new KubernetesStatusOptions { SetExternalIps = cluster.SetExternalIps },
            WorkerNodes = defaults.WorkerNodes with { Tag = cluster.TagWorkerNodes },
            LeaderElection = election with
            {
                Enabled = !cluster.NoLeaderElection,
                Namespace = cluster.LeaseNamespace ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? election.Namespace,
                Name = cluster.LeaseName ?? election.Name,
                Identity = cluster.LeaseIdentity ?? Environment.GetEnvironmentVariable("POD_NAME") ?? election.Identity,
            },
        };
    }
}
