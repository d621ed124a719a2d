namespace LoadBalancer.Application.Forwarding;

public enum HealthCheckType
{
    Tcp,
    Http,
}

/// <summary>
/// How a listener probes its backends. The defaults are the original's: on, a TCP connect every 10 s with a 5 s
/// timeout, healthy after 2 successes, unhealthy after 3 failures.
/// </summary>
public sealed record HealthCheckSettings
{
    public static HealthCheckSettings Default { get; } = new();

    public bool Enabled { get; init; } = true;

    public HealthCheckType Type { get; init; } = HealthCheckType.Tcp;

    /// <summary>The request path of an HTTP check; a 200 response is healthy.</summary>
    public string Path { get; init; } = "/";

    /// <summary>
    /// The port checked on each backend's address; null checks the backend's own (traffic) port. A node's kube-proxy
    /// answers for a Service with <c>externalTrafficPolicy: Local</c> on its healthCheckNodePort, not on the NodePort.
    /// </summary>
    public int? Port { get; init; }

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    public int HealthyThreshold { get; init; } = 2;

    public int UnhealthyThreshold { get; init; } = 3;
}
