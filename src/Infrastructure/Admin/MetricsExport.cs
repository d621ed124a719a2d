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
    /// Series one instrument may hold. The per-listener and per-backend ones grow with the Services served (a series per
    /// port, and per port and backend); past this a series is folded into one labelled <c>otel_metric_overflow="true"</c>.
    /// </summary>
    public const int SeriesPerInstrument = 20_000;

    public static IServiceCollection AddMetricsExport(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("little-load-balancer", autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
                .AddMeter(LoadBalancerMeter.Name)

                // Observable instruments exist once their set is created; the provider holds them for as long as it runs.
                .AddInstrumentation(provider => provider.GetServices<IMetricsInstrumentation>().ToList())
                .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = SeriesPerInstrument })
                .AddPrometheusExporter(options =>
                {
                    // One meter: its name on every series would say nothing.
                    options.ScopeInfoEnabled = false;
                }));
        return services;
    }
}
