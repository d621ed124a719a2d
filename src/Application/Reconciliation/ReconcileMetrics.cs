using System.Diagnostics.Metrics;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Application.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// What the reconciler does: how long one Service's reconcile takes, how many wait for one, the Services by how they
/// are served, and whether this replica serves (and how often that changed). The gauges are read from the reconciler's
/// term and the applied-Service registry when metrics are collected.
/// </summary>
public sealed class ReconcileMetrics : IMetricsInstrumentation
{
    /// <summary>From half a millisecond (nothing to change) to seconds (a retry after a link device said no).</summary>
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _leadershipChanges;

    public ReconcileMetrics(IMeterFactory meters, IReconcilerState reconciler, IAppliedServiceRegistry applied)
    {
        ArgumentNullException.ThrowIfNull(reconciler);
        ArgumentNullException.ThrowIfNull(applied);
        var meter = LoadBalancerMeter.Create(meters);
        _duration = meter.CreateHistogram(
            "littlelb.reconcile.duration",
            "s",
            "Time to reconcile one Service (read, apply when it changed, write its status), by result (ok, error: retried).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _leadershipChanges = meter.CreateCounter<long>(
            "littlelb.leadership.changes", "{change}", "This replica began serving (to=leading) or stopped (to=standing_by).");
        meter.CreateObservableGauge(
            "littlelb.reconcile.queue.depth", () => reconciler.Queued, "{service}", "Services waiting for a reconcile (retries not yet due are not counted).");
        meter.CreateObservableGauge(
            "littlelb.leader", () => reconciler.IsServing ? 1 : 0, description: "1 while this replica serves (leads, or has no peers), 0 while it stands by.");
        meter.CreateObservableGauge("littlelb.services", () => Services(reconciler, applied), "{service}", "Services this replica is asked to serve, by state.");
    }

    public void Reconciled(TimeSpan elapsed, bool succeeded) =>
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("result", succeeded ? "ok" : "error"));

    public void BeganServing() => _leadershipChanges.Add(1, new KeyValuePair<string, object?>("to", "leading"));

    public void StoppedServing() => _leadershipChanges.Add(1, new KeyValuePair<string, object?>("to", "standing_by"));

    /// <summary>Every state, 0 included, so that a state emptied shows as 0 rather than vanishing; none while standing by.</summary>
    private static IEnumerable<Measurement<int>> Services(IReconcilerState reconciler, IAppliedServiceRegistry applied)
    {
        if (!reconciler.IsServing)
        {
            yield break;
        }

        // A served Service whose last change was refused runs as before: it counts as served, as the state API shows it.
        var counts = Enum.GetValues<UnservedKind>().ToDictionary(kind => kind, _ => 0);
        foreach (var service in reconciler.Unserved())
        {
            if (applied.Find(service.Service) is null)
            {
                counts[service.Kind]++;
            }
        }

        yield return new Measurement<int>(applied.All().Count, new KeyValuePair<string, object?>("state", "served"));
        foreach (var (kind, count) in counts)
        {
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("state", LoadBalancerMeter.Label(kind)));
        }
    }
}
