namespace LoadBalancer.Infrastructure.Kubernetes.Status;

public sealed record KubernetesStatusOptions
{
    /// <summary>The field manager every status and spec patch is made as, so the API server shows who owns the fields.</summary>
    public string FieldManager { get; init; } = "little-load-balancer";

    /// <summary>
    /// Also put the assigned IP into the Service's <c>spec.externalIPs</c> (other entries are kept), for clusters whose
    /// kube-proxy should route the IP inside the cluster as well. Turning it off later leaves entries already written.
    /// </summary>
    public bool SetExternalIps { get; init; }
}
