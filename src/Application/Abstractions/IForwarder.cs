using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Abstractions;

/// <summary>
/// Forwards connections from a load-balancer IP:port to backends. Applying a listener that exists replaces its
/// backend set and settings for new connections and leaves open connections alone.
/// </summary>
public interface IForwarder
{
    ValueTask<ForwarderResult> ApplyAsync(ListenerSpec listener, CancellationToken cancellationToken);

    /// <summary>Stops accepting, lets open connections finish until <paramref name="drainTimeout"/>, then closes them.</summary>
    ValueTask StopAsync(PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken);

    /// <summary>
    /// Stops accepting and frees <paramref name="binding"/> before it returns, so another listener can take the IP:port
    /// at once. The task it returns completes when the open connections have finished, or were closed at
    /// <paramref name="drainTimeout"/>: a caller that holds a lock others wait on awaits it after letting go.
    /// </summary>
    ValueTask<Task> DetachAsync(PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken);
}

/// <param name="Policy">A balancing policy by name (<see cref="LoadBalancingPolicyNames"/>).</param>
public sealed record ListenerSpec(PortBinding Binding, ServiceKey Service, IReadOnlyList<Endpoint> Backends, string Policy)
{
    public HealthCheckSettings HealthCheck { get; init; } = HealthCheckSettings.Default;

    /// <summary>Connections beyond this are accepted and closed at once, and counted; null means no limit (UDP: flows, and the forwarder's default limit).</summary>
    public int? MaxConnections { get; init; }

    /// <summary>
    /// Client-IP affinity (<c>sessionAffinity: ClientIP</c>): a client's new connections go to the backend its first
    /// one got (by <see cref="Policy"/>) while that backend is available and until this long after the client's last
    /// new connection. Null: no affinity.
    /// </summary>
    public TimeSpan? AffinityTimeout { get; init; }

    /// <summary>UDP: how long a flow (a client address:port) lives without a datagram; null means the forwarder's default.</summary>
    public TimeSpan? UdpFlowIdleTimeout { get; init; }

    /// <summary>
    /// The networks clients may come from (the Service's loadBalancerSourceRanges); others never reach a backend.
    /// Empty lets every client in.
    /// </summary>
    public IReadOnlyList<IpCidr> SourceRanges { get; init; } = [];

    /// <summary>The PROXY protocol header written to each backend connection before the client's bytes; none by default.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }
}

public sealed record ForwarderResult(bool Succeeded, string? Error = null)
{
    public static ForwarderResult Success { get; } = new(true);

    public static ForwarderResult Failed(string error) => new(false, error);
}
