using System.Diagnostics.Metrics;

namespace LoadBalancer.Application.Tests.Support;

/// <summary>
/// Meters of their own for one test: instruments of the same name in tests that run at once are other objects, so that
/// a <c>MetricCollector</c> on one sees only its test's measurements.
/// </summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(meter => meter.Dispose());
            _meters.Clear();
        }
    }
}
