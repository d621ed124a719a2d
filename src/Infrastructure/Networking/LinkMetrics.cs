using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using LoadBalancer.Application.Common.Telemetry;

namespace LoadBalancer.Infrastructure.Networking;

/// <summary>
/// What the link device holds and does, per device (label device: the process's one link device): the addresses it
/// holds for Services now, read from the device when metrics are collected, and the held addresses it put back after
/// someone else removed them.
/// </summary>
/// <remarks>
/// The loopback device reports its addresses too, under <c>device="lo"</c>, although it puts none into the kernel (Linux
/// answers on all of 127/8 already): it holds them for Services all the same, and so the gauge means one thing in every
/// mode and can be set against <c>littlelb.pool.addresses.used</c> wherever the daemon runs.
/// </remarks>
internal sealed class LinkMetrics : IMetricsInstrumentation
{
    private readonly Counter<long> _restored;
    private ImmutableArray<HeldAddresses> _devices = [];

    public LinkMetrics(IMeterFactory meters)
    {
        var meter = LoadBalancerMeter.Create(meters);
        meter.CreateObservableGauge(
            "littlelb.link.addresses", Held, "{address}", "Addresses this daemon holds on the link device now, for the Services it serves.");
        _restored = meter.CreateCounter<long>(
            "littlelb.link.addresses.restored", "{address}", "Held addresses put back on the link device after they went from it (removed by someone else, the device down or created again).");
    }

    /// <summary>
    /// Reports <paramref name="held"/> under <paramref name="device"/> from now on. A device lives as long as the process
    /// (and its meter with the container), so nothing takes it back.
    /// </summary>
    public void ObserveHeld(string device, Func<int> held)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(held);
        ImmutableInterlocked.Update(ref _devices, devices => devices.Add(new HeldAddresses(device, held)));
    }

    public void Restored(string device) => _restored.Add(1, new KeyValuePair<string, object?>("device", device));

    private IEnumerable<Measurement<int>> Held() =>
        _devices.Select(device => new Measurement<int>(device.Count(), new KeyValuePair<string, object?>("device", device.Device)));

    private sealed record HeldAddresses(string Device, Func<int> Count);
}
