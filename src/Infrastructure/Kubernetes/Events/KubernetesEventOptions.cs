namespace LoadBalancer.Infrastructure.Kubernetes.Events;

public sealed record KubernetesEventOptions
{
    /// <summary>Names this controller on every Event (<c>reportingController</c>).</summary>
    public string ReportingController { get; init; } = "littlelb.io/load-balancer";

    /// <summary>Names this daemon among its replicas (<c>reportingInstance</c>); at most 128 characters.</summary>
    public string ReportingInstance { get; init; } = Environment.MachineName;

    /// <summary>
    /// How long creating one Event may take. Events are recorded while a Service is being applied, and an API server
    /// that hangs must not hold that up for the HTTP client's own timeout.
    /// </summary>
    public TimeSpan CreateTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
