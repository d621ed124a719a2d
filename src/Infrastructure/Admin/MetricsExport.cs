using LoadBalancer.Application.Common.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace LoadBalancer.Infrastructure.Admin;

/// <summary>
/// The OpenTelemetry metrics provider that reads <see cref="LoadBalancerMeter"/>'s instruments for <c>/metrics</c>
/// (docs/adr/0006-metrics-exporter.md). Pull only: nothing is collected until Prometheus scrapes, and a scrape reads the
/// observable instruments' counters then.
/// </summary>
internal static class MetricsExport
{
    /// <summary>
    /// Series a per-listener or per-backend instrument may hold: those grow with the Services served (a series per port,
    /// and per port and backend); past this a series is folded into one labelled <c>otel_metric_overflow="true"</c>.
    /// </summary>
    public const int SeriesPerInstrument = 20_000;

    /// <summary>
    /// Series any other instrument may hold (OpenTelemetry's default). Their labels are kinds, reasons, pools and states,
    /// a few dozen series at most.
    /// </summary>
    public const int SeriesPerSmallInstrument = 2_000;

    public static IServiceCollection AddMetricsExport(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("little-load-balancer", autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
                .AddMeter(LoadBalancerMeter.Name)

                // Observable instruments exist once their set is created; the provider holds them for as long as it runs.
                .AddInstrumentation(provider => provider.GetServices<IMetricsInstrumentation>().ToList())
                // OpenTelemetry allocates an instrument's whole series table (about 90 bytes a series) when the instrument
                // is created, used or not: 20,000 for each of the 26 instruments was 45 MB of committed managed heap in every
                // replica, the standby's included. Untouched, little of it is resident, but it counts against the heap limit
                // the GC derives from a container's memory limit (docs/adr/0009-memory.md). Only the instruments that grow
                // with the Services get the large table.
                .AddView(instrument => new MetricStreamConfiguration
                {
                    CardinalityLimit = GrowsWithServices(instrument.Name) ? SeriesPerInstrument : SeriesPerSmallInstrument,
                })
                .AddPrometheusExporter(options =>
                {
                    // One meter: its name on every series would say nothing.
                    options.ScopeInfoEnabled = false;
                }));
        return services;
    }

    /// <summary>The per-listener (<c>littlelb.listener.*</c>) and per-backend (<c>littlelb.backend.*</c>) instruments.</summary>
    internal static bool GrowsWithServices(string instrument) =>
        instrument.StartsWith("littlelb.listener.", StringComparison.Ordinal) || instrument.StartsWith("littlelb.backend.", StringComparison.Ordinal);
}
