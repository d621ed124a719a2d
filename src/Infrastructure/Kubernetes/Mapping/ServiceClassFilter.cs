using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>Tells the Services this load balancer serves from those it leaves to others.</summary>
internal sealed class ServiceClassFilter(KubernetesServiceOptions options)
{
    public const string LoadBalancerType = "LoadBalancer";

    private readonly KubernetesServiceOptions _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>
    /// A Service of type LoadBalancer whose class is ours, or that has no class while we serve unclassed ones. A class
    /// we were not configured with belongs to another implementation, even when we have none configured.
    /// </summary>
    public bool IsOurs(V1Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service.Spec?.Type != LoadBalancerType)
        {
            return false;
        }

        var serviceClass = service.Spec.LoadBalancerClass;
        if (string.IsNullOrEmpty(serviceClass))
        {
            return _options.ServeUnclassed;
        }

        return _options.LoadBalancerClass is { } ours && string.Equals(serviceClass, ours, StringComparison.Ordinal);
    }
}
