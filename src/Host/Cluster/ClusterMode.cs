using k8s;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Services;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Reconciliation;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Host.Cluster;

/// <summary>Composes the daemon for a Kubernetes cluster and runs it until cancelled.</summary>
public static class ClusterMode
{
    public const int ConfigError = 1;

    /// <param name="client">The API client; null builds one from <paramref name="kubeconfig"/> or the environment.</param>
    public static async Task<int> RunAsync(
        KubernetesAdapterOptions adapter,
        AllocationOptions allocation,
        ForwarderOptions forwarding,
        LinkDeviceOptions? linkDevice,
        AnnouncementOptions announcements,
        string? kubeconfig,
        TextWriter error,
        CancellationToken cancellationToken,
        IKubernetes? client = null,
        Action<ServiceController>? started = null)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(error);
        var problems = adapter.Validate();
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
            }

            return LoadBalancerApp.UsageError;
        }

        IKubernetes api;
        try
        {
            api = client ?? new k8s.Kubernetes(Configuration(kubeconfig));
        }
        catch (Exception failure) when (failure is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"error: --kubeconfig: cannot use '{kubeconfig ?? "(default)"}': {failure.Message}").ConfigureAwait(false);
            return ConfigError;
        }

        try
        {
            var services = DaemonServices.Create(error)
                .AddKubernetesAdapter(api, adapter)
                .AddLoadBalancer(allocation, forwarding, new ServiceOptions(), linkDevice, announcements);
            await using var provider = await DaemonServices.BuildAsync(services, error).ConfigureAwait(false);
            if (provider is null)
            {
                return LoadBalancerApp.UsageError;
            }

            var controller = provider.GetRequiredService<ServiceController>();
            started?.Invoke(controller);
            await controller.RunAsync(cancellationToken).ConfigureAwait(false);
            return LoadBalancerApp.Success;
        }
        finally
        {
            if (client is null)
            {
                api.Dispose();
            }
        }
    }

    /// <summary>In a pod the service account; otherwise the file given, $KUBECONFIG or ~/.kube/config.</summary>
    private static KubernetesClientConfiguration Configuration(string? kubeconfig) =>
        kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
        : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
        : KubernetesClientConfiguration.BuildDefaultConfig();
}
