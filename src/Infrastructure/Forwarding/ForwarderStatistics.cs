using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding;

public sealed record ListenerStatistics(TrafficSnapshot Listener, IReadOnlyList<BackendStatistics> Backends);

/// <param name="Available">Whether the backend takes new connections now (ready, healthy and not ejected).</param>
public sealed record BackendStatistics(Endpoint Endpoint, bool Available, TrafficSnapshot Traffic);
