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
    }

    public Endpoint Endpoint { get; }

    public IPEndPoint EndPoint { get; }

    public TrafficCounters Counters { get; } = new();

    public BackendHealth Health { get; }

    public override string ToString() => Endpoint.ToString();
}
