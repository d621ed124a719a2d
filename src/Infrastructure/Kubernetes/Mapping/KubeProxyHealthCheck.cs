using k8s.Models;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// How the nodes of a Service with <c>externalTrafficPolicy: Local</c> are checked when they are its backends: as cloud
/// load balancers check them, <c>GET /healthz</c> on <c>spec.healthCheckNodePort</c>, where each node's kube-proxy
/// answers 200 while the node has a ready endpoint of the Service and 503 while it has none. A node the EndpointSlices
/// still list after its last pod went (they lag behind kube-proxy) is taken out by the check, as it is behind a cloud
/// load balancer.
/// </summary>
internal static class KubeProxyHealthCheck
{
    public const string Path = "/healthz";

    /// <summary>
    /// The Service's check, turned into kube-proxy's when the Service is Local and has a healthCheckNodePort, unless the
    /// annotations turn checks off or choose what a check asks (health-check-type or health-check-path, which then checks
    /// the NodePort itself). Interval, timeout and thresholds from the annotations apply to kube-proxy's check too.
    /// </summary>
    public static HealthCheckSettings For(V1ServiceSpec spec, HealthCheckSettings annotated, IReadOnlyDictionary<string, string>? annotations)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(annotated);
        if (spec.ExternalTrafficPolicy != NodePortBackends.LocalTrafficPolicy
            || spec.HealthCheckNodePort is not (> 0 and <= 65535 and var port)
            || !annotated.Enabled
            || ForwardingAnnotations.ChoosesProbe(annotations))
        {
            return annotated;
        }

        return annotated with { Type = HealthCheckType.Http, Path = Path, Port = port };
    }
}
