using System.Diagnostics.Metrics;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Admin;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace LoadBalancer.Infrastructure.Tests.Admin;

/// <summary>
/// The series each instrument may hold in the exporter: the large table only for the instruments that grow with the
/// Services, since OpenTelemetry allocates an instrument's whole table when the instrument is created.
/// </summary>
public sealed class MetricsExportTests
{
    // Beyond the small limit, well under the large one: what a per-listener instrument reaches with a few thousand ports.
    private const int Series = 5_000;

    [Theory]
    [InlineData("littlelb.listener.connections.opened", true)]
    [InlineData("littlelb.listener.traffic", true)]
    [InlineData("littlelb.backend.health", true)]
    [InlineData("littlelb.backend.connect.failures", true)]
    [InlineData("littlelb.services", false)]
    [InlineData("littlelb.pool.addresses", false)]
    [InlineData("littlelb.reconcile.duration", false)]
    [InlineData("littlelb.kubernetes.relists", false)]
    [InlineData("littlelb.link.addresses", false)]
    [InlineData("littlelb.listeners", false)]
    public void GrowsWithServices_OnlyPerListenerAndPerBackendInstruments(string instrument, bool grows) =>
        Assert.Equal(grows, MetricsExport.GrowsWithServices(instrument));

    [Fact]
    public void PerListenerInstrument_HoldsMoreSeriesThanTheSmallLimit()
    {
        var points = Collect("littlelb.listener.test_" + Guid.NewGuid().ToString("N"));

        Assert.True(Series > MetricsExport.SeriesPerSmallInstrument);
        Assert.Equal(Series, points.Count);
        Assert.DoesNotContain(points, IsOverflow);
    }

    [Fact]
    public void OtherInstrument_IsCappedAtTheSmallLimit_WithTheRestFoldedIntoTheOverflowSeries()
    {
        var points = Collect("littlelb.test_" + Guid.NewGuid().ToString("N"));

        Assert.InRange(points.Count, MetricsExport.SeriesPerSmallInstrument - 1, MetricsExport.SeriesPerSmallInstrument + 1);
        Assert.Single(points, IsOverflow);
    }

    /// <summary>
    /// The exporter's provider with a second reader that keeps what one collection gives for <paramref name="instrument"/>,
    /// a gauge of <see cref="Series"/> series. The view's limit holds for every reader of the provider.
    /// </summary>
    private static List<MetricPoint> Collect(string instrument)
    {
        var exporter = new CapturingExporter(instrument);
        using var reader = new BaseExportingMetricReader(exporter);
        var services = new ServiceCollection().AddMetrics();
        services.AddMetricsExport();
        services.AddSingleton<IMetricsInstrumentation>(provider => new ManySeries(provider.GetRequiredService<IMeterFactory>(), instrument));
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddReader(reader));
        using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<MeterProvider>();

        Assert.True(reader.Collect());

        // A copy: disposing the provider collects once more into the same exporter.
        return [.. exporter.Points];
    }

    private static bool IsOverflow(MetricPoint point)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == "otel.metric.overflow")
            {
                return true;
            }
        }

        return false;
    }

    private sealed class ManySeries : IMetricsInstrumentation
    {
        public ManySeries(IMeterFactory meters, string instrument) =>
            LoadBalancerMeter.Create(meters).CreateObservableGauge(
                instrument,
                () => Enumerable.Range(0, Series).Select(port => new Measurement<long>(1, new KeyValuePair<string, object?>("port", port))));
    }

    private sealed class CapturingExporter(string instrument) : BaseExporter<Metric>
    {
        public List<MetricPoint> Points { get; } = [];

        public override ExportResult Export(in Batch<Metric> batch)
        {
            foreach (var metric in batch)
            {
                if (metric.Name != instrument)
                {
                    continue;
                }

                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    Points.Add(point);
                }
            }

            return ExportResult.Success;
        }
    }
}
