using System.Diagnostics.Metrics;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>
/// The forwarder's counters as instruments, per listener (labels namespace, service, port, protocol) and per backend
/// (the same and backend = IP:port). Every instrument is observable: it reads, when metrics are collected, the counters
/// the data path keeps anyway, so that collecting adds nothing to a connection's path. A listener's series go when it
/// stops, and start again from zero if it comes back (a counter reset, as Prometheus expects of a restart).
/// </summary>
internal sealed class ForwardingMetrics : IMetricsInstrumentation
{
    private static readonly BackendHealthState[] HealthStates = Enum.GetValues<BackendHealthState>();

    public ForwardingMetrics(IMeterFactory meters, IForwarderStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        var meter = LoadBalancerMeter.Create(meters);
        meter.CreateObservableCounter(
            "littlelb.listener.connections.opened", () => Listeners(statistics, traffic => traffic.ConnectionsOpened), "{connection}", "Client connections a listener accepted.");
        meter.CreateObservableUpDownCounter(
            "littlelb.listener.connections.active", () => Listeners(statistics, traffic => traffic.ConnectionsActive), "{connection}", "Client connections open now.");
        meter.CreateObservableCounter(
            "littlelb.listener.connections.failed", () => Listeners(statistics, traffic => traffic.ConnectionsFailed), "{connection}", "Clients that could not be forwarded (no backend could be connected).");
        meter.CreateObservableCounter(
            "littlelb.listener.connections.rejected", () => Listeners(statistics, traffic => traffic.ConnectionsRejected), "{connection}", "Clients closed at once: the listener's connection limit, or the open-files budget, was reached.");
        meter.CreateObservableCounter(
            "littlelb.listener.traffic", () => ListenerBytes(statistics), "By", "Bytes forwarded, by direction (client_to_backend, backend_to_client).");

        meter.CreateObservableGauge(
            "littlelb.backend.health", () => BackendHealth(statistics), description: "1 for the state a backend is in (healthy, not_ready, failing, ejected), 0 for the others.");
        meter.CreateObservableCounter(
            "littlelb.backend.connections.opened", () => Backends(statistics, backend => backend.Traffic.ConnectionsOpened), "{connection}", "Connections made to a backend.");
        meter.CreateObservableUpDownCounter(
            "littlelb.backend.connections.active", () => Backends(statistics, backend => backend.Traffic.ConnectionsActive), "{connection}", "Connections open to a backend now.");
        meter.CreateObservableCounter(
            "littlelb.backend.connect.failures", () => Backends(statistics, backend => backend.Traffic.ConnectionsFailed), "{connection}", "Connects to a backend that failed.");
        meter.CreateObservableCounter(
            "littlelb.backend.ejections", () => Backends(statistics, backend => backend.Ejections), "{ejection}", "Times a backend was taken out after failed connects in a row.");
    }

    private static IEnumerable<Measurement<long>> Listeners(IForwarderStatistics statistics, Func<TrafficSnapshot, long> value) =>
        statistics.GetAllStatistics().Select(listener => new Measurement<long>(value(listener.Listener), ListenerTags(listener)));

    private static IEnumerable<Measurement<long>> ListenerBytes(IForwarderStatistics statistics)
    {
        foreach (var listener in statistics.GetAllStatistics())
        {
            yield return new Measurement<long>(listener.Listener.BytesFromClient, [.. ListenerTags(listener), new("direction", "client_to_backend")]);
            yield return new Measurement<long>(listener.Listener.BytesFromBackend, [.. ListenerTags(listener), new("direction", "backend_to_client")]);
        }
    }

    private static IEnumerable<Measurement<long>> Backends(IForwarderStatistics statistics, Func<BackendStatistics, long> value) =>
        from listener in statistics.GetAllStatistics()
        from backend in listener.Backends
        select new Measurement<long>(value(backend), BackendTags(listener, backend));

    private static IEnumerable<Measurement<int>> BackendHealth(IForwarderStatistics statistics) =>
        from listener in statistics.GetAllStatistics()
        from backend in listener.Backends
        from state in HealthStates
        select new Measurement<int>(backend.Health == state ? 1 : 0, [.. BackendTags(listener, backend), new("state", LoadBalancerMeter.Label(state))]);

    private static KeyValuePair<string, object?>[] ListenerTags(ListenerStatistics listener) =>
    [
        new("namespace", listener.Service.Namespace),
        new("service", listener.Service.Name),
        new("port", listener.Binding.Port.Port),
        new("protocol", TransportProtocolNames.Name(listener.Binding.Protocol)),
    ];

    private static KeyValuePair<string, object?>[] BackendTags(ListenerStatistics listener, BackendStatistics backend) =>
        [.. ListenerTags(listener), new("backend", backend.Endpoint.ToString())];
}
