using k8s.Models;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Infrastructure.ServiceManifests;

/// <summary>Tells the Services this load balancer serves from those it leaves to others, in the cluster and in a file alike.</summary>
/// <param name="loadBalancerClass">The <c>spec.loadBalancerClass</c> we answer to; null when none is configured.</param>
/// <param name="serveUnclassed">Whether Services without a class are ours; another controller may claim them instead.</param>
internal sealed class ServiceClassFilter(string? loadBalancerClass, bool serveUnclassed)
{
    public const string LoadBalancerType = "LoadBalancer";

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
            return serveUnclassed;
        }

        return loadBalancerClass is { } ours && string.Equals(serviceClass, ours, StringComparison.Ordinal);
    }

    /// <summary>Why a Service of type LoadBalancer is not ours, for a note to the operator.</summary>
    public string Describe(V1Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var serviceClass = service.Spec?.LoadBalancerClass;
        return string.IsNullOrEmpty(serviceClass)
            ? "it has no spec.loadBalancerClass and unclassed Services are ignored (--ignore-unclassed)"
            : $"its spec.loadBalancerClass {QuotedValue.Of(serviceClass)} is not ours ({(loadBalancerClass is null ? "none configured" : QuotedValue.Of(loadBalancerClass))})";
    }
}
