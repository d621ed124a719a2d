using k8s;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Cluster;

/// <summary>Composes the daemon for a Kubernetes cluster and runs it until cancelled.</summary>
public static class ClusterMode
{
    public const int ConfigError = 1;

    /// <summary>
    /// Connections drain briefly on shutdown: the Lease is released only after, and a standby waits for that. After
    /// losing the Lease they are cut at once, since another replica owns the addresses now.
    /// </summary>
    public static ReconcilerOptions DefaultReconciler { get; } = new() { ShutdownDrain = TimeSpan.FromSeconds(1), HandOverDrain = TimeSpan.Zero };

    /// <param name="client">The API client; null builds one from <paramref name="kubeconfig"/> or the environment.</param>
    /// <param name="started">Called with the container once it is built (tests and benchmarks watch the reconciler).</param>
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
        Action<IServiceProvider>? started = null,
        ReconcilerOptions? reconciler = null,
        LogLevel logLevel = LogLevel.Information)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(error);
        var settings = reconciler ?? DefaultReconciler;
        var problems = adapter.Validate().Concat(settings.Validate()).ToList();
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
            var services = DaemonServices.Create(error, logLevel)
                .AddLoadBalancer(allocation, forwarding, new ServiceOptions(), settings, linkDevice, announcements)
                .AddKubernetesAdapter(api, adapter);
            await using var provider = await DaemonServices.BuildAsync(services, error).ConfigureAwait(false);
            if (provider is null)
            {
                return LoadBalancerApp.UsageError;
            }

            started?.Invoke(provider);
            var outcome = await DaemonServices.RunAsync(provider, cancellationToken).ConfigureAwait(false);
            return outcome == DaemonServices.Served ? LoadBalancerApp.Success : ConfigError;
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
