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
    /// <summary>
    /// How long one read of the forwarder's counters serves the instruments' callbacks: a collection calls the dozen of them
    /// one after the other, and each would otherwise snapshot every listener and backend again. Shorter than the
    /// exporter's own cache of a scrape (300 ms), so that no scrape sees older figures than it would anyway.
    /// </summary>
    public static readonly TimeSpan SnapshotLifetime = TimeSpan.FromMilliseconds(100);

    private static readonly BackendHealthState[] HealthStates = Enum.GetValues<BackendHealthState>();

    private readonly IForwarderStatistics _source;
    private readonly TimeProvider _time;
    private CountersRead? _lastRead;

    public ForwardingMetrics(IMeterFactory meters, IForwarderStatistics statistics, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(time);
        _source = statistics;
        _time = time;
        var meter = LoadBalancerMeter.Create(meters);
        meter.CreateObservableCounter(
            "littlelb.listener.connections.opened", () => Listeners(Snapshot(), traffic => traffic.ConnectionsOpened), "{connection}", "Client connections a listener accepted.");
        meter.CreateObservableUpDownCounter(
            "littlelb.listener.connections.active", () => Listeners(Snapshot(), traffic => traffic.ConnectionsActive), "{connection}", "Client connections open now.");
        meter.CreateObservableCounter(
            "littlelb.listener.connections.failed", () => Listeners(Snapshot(), traffic => traffic.ConnectionsFailed), "{connection}", "Clients that could not be forwarded (no backend could be connected).");
        meter.CreateObservableCounter(
            "littlelb.listener.connections.rejected", () => Listeners(Snapshot(), traffic => traffic.ConnectionsRejected), "{connection}", "Clients closed at once: the listener's connection limit, or the open-files budget, was reached.");
        meter.CreateObservableCounter(
            "littlelb.listener.connections.outside_source_ranges", () => Listeners(Snapshot(), traffic => traffic.RefusedBySourceRange), "{connection}",
            "Clients from outside the Service's loadBalancerSourceRanges closed at accept; those the kernel's socket filter dropped are not counted.");
        meter.CreateObservableCounter(
            "littlelb.listener.traffic", () => ListenerBytes(Snapshot()), "By", "Bytes forwarded, by direction (client_to_backend, backend_to_client).");
        meter.CreateObservableCounter(
            "littlelb.listener.datagrams", () => ListenerDatagrams(Snapshot()), "{datagram}", "UDP datagrams forwarded, by direction (client_to_backend, backend_to_client); flows count as connections.");
        meter.CreateObservableCounter(
            "littlelb.listener.datagrams.dropped", () => Udp(Snapshot(), traffic => traffic.DatagramsDropped), "{datagram}", "UDP datagrams not forwarded: a new client over the flow limit or without a backend, a full socket buffer, a closed backend port.");

        meter.CreateObservableGauge(
            "littlelb.backend.health", () => BackendHealth(Snapshot()), description: "1 for the state a backend is in (healthy, not_ready, failing, ejected), 0 for the others.");
        meter.CreateObservableCounter(
            "littlelb.backend.connections.opened", () => Backends(Snapshot(), backend => backend.Traffic.ConnectionsOpened), "{connection}", "Connections made to a backend.");
        meter.CreateObservableUpDownCounter(
            "littlelb.backend.connections.active", () => Backends(Snapshot(), backend => backend.Traffic.ConnectionsActive), "{connection}", "Connections open to a backend now.");
        meter.CreateObservableCounter(
            "littlelb.backend.connect.failures", () => Backends(Snapshot(), backend => backend.Traffic.ConnectionsFailed), "{connection}", "Connects to a backend that failed.");
        meter.CreateObservableCounter(
            "littlelb.backend.ejections", () => Backends(Snapshot(), backend => backend.Ejections), "{ejection}", "Times a backend was taken out after failed connects in a row.");
    }

    private static IEnumerable<Measurement<long>> Listeners(IReadOnlyList<ListenerStatistics> listeners, Func<TrafficSnapshot, long> value) =>
        listeners.Select(listener => new Measurement<long>(value(listener.Listener), ListenerTags(listener)));

    private static IEnumerable<Measurement<long>> ListenerBytes(IReadOnlyList<ListenerStatistics> listeners)
    {
        foreach (var listener in listeners)
        {
            yield return new Measurement<long>(listener.Listener.BytesFromClient, [.. ListenerTags(listener), new("direction", "client_to_backend")]);
            yield return new Measurement<long>(listener.Listener.BytesFromBackend, [.. ListenerTags(listener), new("direction", "backend_to_client")]);
        }
    }

    private static IEnumerable<Measurement<long>> Udp(IReadOnlyList<ListenerStatistics> listeners, Func<TrafficSnapshot, long> value) =>
        Listeners([.. listeners.Where(listener => listener.Binding.Protocol == TransportProtocol.Udp)], value);

    private static IEnumerable<Measurement<long>> ListenerDatagrams(IReadOnlyList<ListenerStatistics> listeners)
    {
        foreach (var listener in listeners.Where(listener => listener.Binding.Protocol == TransportProtocol.Udp))
        {
            yield return new Measurement<long>(listener.Listener.DatagramsFromClient, [.. ListenerTags(listener), new("direction", "client_to_backend")]);
            yield return new Measurement<long>(listener.Listener.DatagramsFromBackend, [.. ListenerTags(listener), new("direction", "backend_to_client")]);
        }
    }

    private static IEnumerable<Measurement<long>> Backends(IReadOnlyList<ListenerStatistics> listeners, Func<BackendStatistics, long> value) =>
        from listener in listeners
        from backend in listener.Backends
        select new Measurement<long>(value(backend), BackendTags(listener, backend));

    private static IEnumerable<Measurement<int>> BackendHealth(IReadOnlyList<ListenerStatistics> listeners) =>
        from listener in listeners
        from backend in listener.Backends
        from state in HealthStates
        select new Measurement<int>(backend.Health == state ? 1 : 0, [.. BackendTags(listener, backend), new("state", LoadBalancerMeter.Label(state))]);

    /// <summary>The forwarder's counters, read again once <see cref="SnapshotLifetime"/> has passed since the last read.</summary>
    private IReadOnlyList<ListenerStatistics> Snapshot()
    {
        // One reference, written whole: two collections at once would at worst read the counters twice.
        if (Volatile.Read(ref _lastRead) is { } last && _time.GetElapsedTime(last.At) < SnapshotLifetime)
        {
            return last.Listeners;
        }

        var listeners = _source.GetAllStatistics();
        Volatile.Write(ref _lastRead, new CountersRead(listeners, _time.GetTimestamp()));
        return listeners;
    }

    private sealed record CountersRead(IReadOnlyList<ListenerStatistics> Listeners, long At);

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
