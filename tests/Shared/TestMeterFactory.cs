using System.Diagnostics.Metrics;

namespace LoadBalancer.Tests.Shared;

/// <summary>
/// Meters of one test's own. Tests run in parallel create instruments of the same names; a <c>MetricCollector</c> made
/// with this factory as the meter scope (<c>new MetricCollector&lt;long&gt;(meters, LoadBalancerMeter.Name, name)</c>) sees
/// only the measurements of the instruments made through it. Disposing ends the meters and so their instruments.
/// </summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly Lock _gate = new();
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_gate)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }

            _meters.Clear();
        }
    }
}
