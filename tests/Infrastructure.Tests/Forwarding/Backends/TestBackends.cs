using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

/// <summary>Backends for policy and health tests.</summary>
internal static class TestBackends
{
    public static BackendState Create(string address, int port = 8080, HealthCheckSettings? settings = null, TimeProvider? time = null) =>
        Create(new IPEndPoint(IPAddress.Parse(address), port), settings, time);

    public static BackendState Create(IPEndPoint endpoint, HealthCheckSettings? settings = null, TimeProvider? time = null) =>
        new(new Endpoint(endpoint.Address, endpoint.Port),
            new BackendHealth(settings ?? HealthCheckSettings.Default, new ForwarderOptions(), time ?? TimeProvider.System));

    /// <summary>Backends 10.0.0.1, 10.0.0.2, ... on port 8080.</summary>
    public static BackendState[] Many(int count) =>
        [.. Enumerable.Range(1, count).Select(index => Create($"10.0.0.{index}"))];

    public static BackendState WithActive(this BackendState backend, int connections)
    {
        for (var index = 0; index < connections; index++)
        {
            backend.Counters.ConnectionOpened();
        }

        return backend;
    }
}
