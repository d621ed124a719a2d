using k8s;
using k8s.Exceptions;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Infrastructure.Kubernetes.Pacing;

namespace LoadBalancer.Host.Cluster;

/// <summary>
/// The API client from the kubeconfig: the file configured, else in a pod the service account, else ~/.kube/config.
/// A file that cannot be read or used fails the start (exit 1) naming it; an API server that does not answer does not
/// (the informers retry with backoff). Every request of the client is paced by <c>kubeApiQps</c> and <c>kubeApiBurst</c>.
/// </summary>
public static class KubernetesConnection
{
    /// <returns>The client, or the reason it cannot be built, naming the file and where its name came from.</returns>
    public static (IKubernetes? Client, string? Problem) Create(DaemonSettings settings, LoadedConfiguration configuration, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(environment);
        string path;
        string source;
        if (!string.IsNullOrWhiteSpace(settings.Kubeconfig))
        {
            path = settings.Kubeconfig;
            source = configuration.Source(Settings.Kubeconfig) ?? ValueSources.Default;
        }
        else if (KubernetesClientConfiguration.IsInCluster())
        {
            try
            {
                return (Paced(KubernetesClientConfiguration.InClusterConfig(), settings), null);
            }
            catch (Exception failure) when (Unusable(failure))
            {
                return (null, $"kubeconfig: the pod's service account cannot be used: {failure.Message}");
            }
        }
        else
        {
            var home = environment.GetValueOrDefault("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            path = Path.Combine(home, ".kube", "config");
            source = "default: not in a pod and no kubeconfig set";
        }

        try
        {
            return (Paced(KubernetesClientConfiguration.BuildConfigFromConfigFile(path), settings), null);
        }
        catch (Exception failure) when (Unusable(failure))
        {
            return (null, $"kubeconfig: cannot use '{path}' ({source}): {failure.Message}");
        }
    }

    /// <summary>The client with its requests paced; the handler is the client's, disposed with it.</summary>
    internal static Kubernetes Paced(KubernetesClientConfiguration config, DaemonSettings settings) =>
        new(config, KubernetesApiPacing.CreateHandler(settings.ApiPacing(), TimeProvider.System));

    private static bool Unusable(Exception failure) =>
        failure is KubeConfigException or IOException or UnauthorizedAccessException or FormatException or ArgumentException
            or InvalidOperationException or YamlDotNet.Core.YamlException or System.Security.Cryptography.CryptographicException;
}
