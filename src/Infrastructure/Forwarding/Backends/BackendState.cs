using System.Net;
using LoadBalancer.Domain.Endpoints;

namespace LoadBalancer.Infrastructure.Forwarding.Backends;

/// <summary>
/// One backend of one listener: its address, counters and health. It outlives backend-set swaps that keep the same
/// endpoint, so counters and health are not reset by an unrelated change.
/// </summary>
internal sealed class BackendState
{
    public BackendState(Endpoint endpoint, BackendHealth health)
    {
        Endpoint = endpoint;
        EndPoint = endpoint.ToIPEndPoint();
        Health = health;
        var address = EndPoint.Serialize();
        NativeAddress = address.Buffer.Span[..address.Size].ToArray();
        NativeAddressFamily = EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 10 : 2;
    }

    /// <summary>The sockaddr the splice engine passes to connect(2), built once.</summary>
    public byte[] NativeAddress { get; }

    /// <summary>AF_INET or AF_INET6, for socket(2).</summary>
    public int NativeAddressFamily { get; }

    /// <summary>Replaced when the same address comes back with other details (readiness, node).</summary>
    public Endpoint Endpoint { get; set; }

    public IPEndPoint EndPoint { get; }

    public TrafficCounters Counters { get; } = new();

    public BackendHealth Health { get; }

    /// <summary>Rate-limits the warning for failed connects to this backend; null (policy and health tests) logs each one.</summary>
    public LogRateLimiter? ConnectFailureLog { get; init; }

    public override string ToString() => Endpoint.ToString();
}
