using System.Diagnostics.Metrics;
using LoadBalancer.Application.Common.Telemetry;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>Why an informer lists everything again.</summary>
internal enum RelistReason
{
    /// <summary>The API server no longer has the resourceVersion a watch asked for (410 Gone).</summary>
    WatchExpired,

    /// <summary>A list's continue token expired between two pages, so the list starts over.</summary>
    ContinueExpired,
}

/// <summary>
/// How the informers keep up with the API server, per resource (label resource: services, nodes, endpointslices): each
/// watch that ended and is started again from the last resourceVersion, by how it ended (reason: ended, ended_early,
/// silent, failed), and each time everything is listed again after the first list, by why (reason: watch_expired,
/// continue_expired). Every end of a watch counts once, in one of the two: a watch that expired is followed by a list,
/// not restarted.
/// </summary>
/// <remarks>
/// A relist counts once however many attempts its list takes (failed lists are retried, and logged, not counted). The
/// first list is none, but a continue token that expires while it is made starts it over, and that counts.
/// </remarks>
internal sealed class InformerMetrics
{
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _relists;

    public InformerMetrics(IMeterFactory meters)
    {
        var meter = LoadBalancerMeter.Create(meters);
        _restarts = meter.CreateCounter<long>(
            "littlelb.kubernetes.watch.restarts",
            "{restart}",
            "Watches that ended and were started again from the last resourceVersion, by how they ended (ended: closed by the server, as at its timeout; ended_early: closed at once without an event; silent: nothing received for the silence timeout; failed: an error or no answer).");
        _relists = meter.CreateCounter<long>(
            "littlelb.kubernetes.relists",
            "{list}",
            "Times everything was listed again after the first list, by reason (watch_expired: a watch was answered 410 Gone; continue_expired: a list's continue token expired between pages).");
    }

    /// <summary>A watch of <paramref name="kind"/> ended for <paramref name="outcome"/>, other than <see cref="WatchOutcome.Expired"/> (a relist).</summary>
    public void WatchRestarted(string kind, WatchOutcome outcome) =>
        _restarts.Add(1, new KeyValuePair<string, object?>("resource", Resource(kind)), new KeyValuePair<string, object?>("reason", LoadBalancerMeter.Label(outcome)));

    public void Relisted(string kind, RelistReason reason) =>
        _relists.Add(1, new KeyValuePair<string, object?>("resource", Resource(kind)), new KeyValuePair<string, object?>("reason", LoadBalancerMeter.Label(reason)));

    /// <summary>
    /// The kind as the API names its resource (Service → services), as the API server's own metrics label it. Each kind
    /// watched here makes its plural with an s.
    /// </summary>
    private static string Resource(string kind) => string.Concat(kind.ToLowerInvariant(), "s");
}
