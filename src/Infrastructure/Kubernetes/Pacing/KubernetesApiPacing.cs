namespace LoadBalancer.Infrastructure.Kubernetes.Pacing;

/// <summary>What the host hands to <c>new Kubernetes(config, handlers)</c> to pace the client.</summary>
public static class KubernetesApiPacing
{
    /// <summary>A handler that paces every request of one client by <paramref name="options"/>.</summary>
    public static DelegatingHandler CreateHandler(KubernetesApiPacingOptions options, TimeProvider time) =>
        new ApiPacingHandler(new ApiTokenBucket(options, time));
}
