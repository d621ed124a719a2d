using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using NSubstitute;
using static LoadBalancer.Application.Tests.Services.ServiceFakes;
using static LoadBalancer.Application.Tests.TestData;
using RemoveStaleCommand = LoadBalancer.Application.Services.RemoveStaleAddresses.RemoveStaleAddresses;

namespace LoadBalancer.Application.Tests.Services.RemoveStaleAddresses;

public sealed class RemoveStaleAddressesTests : IDisposable
{
    private readonly ServiceFakes _fakes = new();

    public void Dispose() => _fakes.Dispose();

    [Fact]
    public async Task Handle_PoolAddressWantedByNobody_IsRemovedAndOthersAreLeftAlone()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        _fakes.Link.ListAddressesAsync(default).ReturnsForAnyArgs([
            Ip("192.168.0.225"), // web's
            Ip("192.168.0.230"), // left by a crash
            Ip("10.20.0.7"),     // the host's own, outside the pool
        ]);
        _fakes.ClearCalls();

        var response = await Handler().Handle(new RemoveStaleCommand(), CancellationToken.None);

        Assert.Equal([Ip("192.168.0.230")], response.Removed);
        Assert.Empty(response.Failures);
        Assert.Equal(["remove 192.168.0.230"], _fakes.LinkCalls());
    }

    [Fact]
    public async Task Handle_DeviceRefusesARemoval_ReportsItAndGoesOnWithTheRest()
    {
        _fakes.Link.ListAddressesAsync(default).ReturnsForAnyArgs([Ip("192.168.0.229"), Ip("192.168.0.230")]);
        _fakes.Link.RemoveAddressAsync(Ip("192.168.0.229"), Arg.Any<CancellationToken>())
            .Returns(LinkOperationResult.Failed("Operation not permitted"));

        var response = await Handler().Handle(new RemoveStaleCommand(), CancellationToken.None);

        Assert.Equal([Ip("192.168.0.230")], response.Removed);
        Assert.Equal(["stale address 192.168.0.229 on eth-test: Operation not permitted"], response.Failures);
    }

    [Fact]
    public async Task SharedIp_ThreeServices_AddressLeavesTheDeviceOnlyWithTheThird()
    {
        await _fakes.ApplyAsync(Spec("web", null, 80), Backends(80, "10.0.0.1:80"));
        await _fakes.ApplyAsync(Spec("api", null, 443), Backends(443, "10.0.0.2:443"));
        await _fakes.ApplyAsync(Spec("dns", null, 53), Backends(53, "10.0.0.3:53"));
        Assert.Equal(["add 192.168.0.225"], _fakes.LinkCalls());
        _fakes.ClearCalls();

        await _fakes.RemoveAsync("web");
        await _fakes.RemoveAsync("api");
        Assert.Empty(_fakes.LinkCalls());

        await _fakes.RemoveAsync("dns");
        Assert.Equal(["remove 192.168.0.225"], _fakes.LinkCalls());
    }

    private RemoveStaleAddressesHandler Handler() =>
        new(_fakes.Allocations, _fakes.Applied, _fakes.Link, new CapturingLogger<RemoveStaleAddressesHandler>());
}
