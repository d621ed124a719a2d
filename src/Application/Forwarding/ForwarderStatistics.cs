using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Forwarding;

/// <summary>One listener's counters and its backends', read from what the forwarder counts anyway (never counted for this).</summary>
/// <param name="Listener">Every client connection of the listener, whichever backend took it (or none).</param>
public sealed record ListenerStatistics(
    PortBinding Binding,
    ServiceKey Service,
    TrafficSnapshot Listener,
    IReadOnlyList<BackendStatistics> Backends)
{
    /// <summary>
    /// No backend is healthy, so new connections go to backends that failed their checks (or are not ready) rather than
    /// being refused: the original's choice, and worth an operator's attention.
    /// </summary>
    public bool FallingBack { get; init; }
}

/// <param name="Health">Why the backend does or does not take new connections.</param>
/// <param name="Available">Whether the backend takes new connections now (ready, healthy and not ejected).</param>
public sealed record BackendStatistics(Endpoint Endpoint, BackendHealthState Health, bool Available, TrafficSnapshot Traffic)
{
    /// <summary>Times it was taken out after failed connects in a row (passive ejection), since it was added.</summary>
    public long Ejections { get; init; }
}

/// <summary>A backend's state as the forwarder sees it; the first that applies, in this order.</summary>
public enum BackendHealthState
{
    /// <summary>Ready, passing its checks (or unchecked), not ejected: it takes new connections.</summary>
    Healthy,

    /// <summary>Its endpoint is not ready (a pod starting or terminating): no new connections.</summary>
    NotReady,

    /// <summary>Failed its active health checks in a row: no new connections until enough pass.</summary>
    Failing,

    /// <summary>Taken out after failed connects in a row (passive ejection), until a check passes or the ejection ends.</summary>
    Ejected,
}

/// <summary>
/// Counters at one moment; each is read atomically, the set is not (a connection may be counted in one and not yet another).
/// A UDP listener counts its flows (one per client address:port) as connections and its payload bytes as bytes.
/// </summary>
/// <param name="ConnectionsOpened">Connections taken since the listener (or backend) started.</param>
/// <param name="ConnectionsActive">Connections open now.</param>
/// <param name="ConnectionsFailed">For a listener, clients that could not be forwarded; for a backend, connects to it that failed.</param>
/// <param name="ConnectionsRejected">Clients closed at once because the listener was at its connection limit, or the forwarder at the connections its open-files limit leaves room for.</param>
/// <param name="BytesFromClient">Bytes forwarded client → backend.</param>
/// <param name="BytesFromBackend">Bytes forwarded backend → client.</param>
public sealed record TrafficSnapshot(
    long ConnectionsOpened,
    long ConnectionsActive,
    long ConnectionsFailed,
    long ConnectionsRejected,
    long BytesFromClient,
    long BytesFromBackend)
{
    public static TrafficSnapshot None { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>UDP: datagrams forwarded client → backend (0 for TCP).</summary>
    public long DatagramsFromClient { get; init; }

    /// <summary>UDP: datagrams forwarded backend → client (0 for TCP).</summary>
    public long DatagramsFromBackend { get; init; }

    /// <summary>UDP: datagrams not forwarded: a new client over the flow limit or without a backend, a full socket buffer, a closed backend port.</summary>
    public long DatagramsDropped { get; init; }

    /// <summary>
    /// Clients refused at accept because their address is outside the Service's source ranges. Those the kernel's
    /// socket filter drops (the usual case) never reach accept and are not counted.
    /// </summary>
    public long RefusedBySourceRange { get; init; }
}
