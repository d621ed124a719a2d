using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Networking;
using LoadBalancer.Infrastructure.Networking.Loopback;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LoadBalancer.Infrastructure.Tests.Networking.Loopback;

public sealed class LoopbackLinkDeviceTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly LoopbackLinkDevice _device;

    public LoopbackLinkDeviceTests() => _device = new LoopbackLinkDevice(new LinkMetrics(_meters));

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task AddAddress_LoopbackAddress_IsHeldAndListed()
    {
        var result = await _device.AddAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);

        Assert.True(result.Succeeded);
        Assert.Equal([IPAddress.Parse("127.0.10.5")], await _device.ListAddressesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AddAddress_Twice_IsIdempotent()
    {
        await _device.AddAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);
        var again = await _device.AddAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);

        Assert.True(again.Succeeded);
        Assert.Single(await _device.ListAddressesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AddAddress_NonLoopbackAddress_IsRefusedNamingTheAddress()
    {
        var result = await _device.AddAddressAsync(IPAddress.Parse("192.0.2.10"), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Contains("192.0.2.10", result.Error, StringComparison.Ordinal);
        Assert.Empty(await _device.ListAddressesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task RemoveAddress_AbsentAddress_Succeeds()
    {
        var result = await _device.RemoveAddressAsync(IPAddress.Parse("127.0.10.9"), CancellationToken.None);

        Assert.True(result.Succeeded);
    }

    [Fact]
    public async Task RemoveAddress_HeldAddress_IsNoLongerListed()
    {
        await _device.AddAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);
        await _device.AddAddressAsync(IPAddress.Parse("127.0.10.6"), CancellationToken.None);

        await _device.RemoveAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);

        Assert.Equal([IPAddress.Parse("127.0.10.6")], await _device.ListAddressesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task HeldAddresses_AreReportedUnderLo_RefusedAndRemovedOnesNot()
    {
        using var held = new MetricCollector<int>(_meters, LoadBalancerMeter.Name, "littlelb.link.addresses");
        await _device.AddAddressAsync(IPAddress.Parse("127.0.10.5"), CancellationToken.None);
        await _device.AddAddressAsync(IPAddress.Parse("127.0.10.6"), CancellationToken.None);
        await _device.AddAddressAsync(IPAddress.Parse("127.0.10.7"), CancellationToken.None);
        await _device.AddAddressAsync(IPAddress.Parse("192.0.2.10"), CancellationToken.None);

        await _device.RemoveAddressAsync(IPAddress.Parse("127.0.10.6"), CancellationToken.None);
        held.RecordObservableInstruments();

        var measurement = Assert.Single(held.GetMeasurementSnapshot());
        Assert.Equal(2, measurement.Value);
        Assert.Equal("lo", measurement.Tags["device"]);
    }

    [Fact]
    public async Task AddedAddress_AcceptsConnectionsWithoutKernelChanges()
    {
        // The premise of this device: Linux answers on all of 127/8, so a listener can bind an address nobody added.
        var address = IPAddress.Parse("127.0.10.77");
        Assert.True((await _device.AddAddressAsync(address, CancellationToken.None)).Succeeded);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(address, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
        using var accepted = await listener.AcceptAsync(timeout.Token);

        Assert.Equal(address, ((IPEndPoint)accepted.LocalEndPoint!).Address);
    }
}
