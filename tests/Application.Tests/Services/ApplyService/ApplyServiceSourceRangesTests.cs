using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Addressing;
using NSubstitute;
using static LoadBalancer.Application.Tests.Services.ServiceFakes;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Services.ApplyService;

/// <summary>A Service's source ranges reach every listener it has, and a change of them alone re-applies the listeners.</summary>
public sealed class ApplyServiceSourceRangesTests : IDisposable
{
    private readonly ServiceFakes _fakes = new();

    public void Dispose() => _fakes.Dispose();

    [Fact]
    public async Task Handle_SourceRanges_ReachEveryListener_Parsed()
    {
        var spec = Spec("web", null, 80, 443) with { SourceRanges = ["10.0.0.0/8", " 2001:db8::/32"] };

        var response = await _fakes.ApplyAsync(spec, Backends(80, "10.0.0.1:80"), Backends(443, "10.0.0.1:443"));

        Assert.True(response.Succeeded, response.Failure);
        IpCidr[] expected = [IpCidr.Parse("10.0.0.0/8"), IpCidr.Parse("2001:db8::/32")];
        await _fakes.Forwarder.Received(2).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.SourceRanges.SequenceEqual(expected)),
            Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Handle_OnlyTheRangesChanged_ReappliesTheListenerWithTheNewRanges()
    {
        var spec = Spec("web", null, 80) with { SourceRanges = ["10.0.0.0/8"] };
        await _fakes.ApplyAsync(spec, Backends(80, "10.0.0.1:80"));
        _fakes.Forwarder.ClearReceivedCalls();

        var response = await _fakes.ApplyAsync(spec with { SourceRanges = ["192.168.0.0/16"] }, Backends(80, "10.0.0.1:80"));

        Assert.True(response.Changed);
        await _fakes.Forwarder.Received(1).ApplyAsync(
            Arg.Is<ListenerSpec>(listener => listener.SourceRanges.SequenceEqual(new[] { IpCidr.Parse("192.168.0.0/16") })),
            Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Handle_InvalidRange_IsAValidationFailure_AndNothingIsServed()
    {
        var response = await _fakes.ApplyAsync(Spec("web", null, 80) with { SourceRanges = ["10.0.0.0/8", "banana"] }, Backends(80, "10.0.0.1:80"));

        Assert.False(response.Succeeded);
        Assert.StartsWith("spec.loadBalancerSourceRanges[1]: 'banana' is not a CIDR", response.Failure, StringComparison.Ordinal);
        await _fakes.Forwarder.DidNotReceive().ApplyAsync(Arg.Any<ListenerSpec>(), Arg.Any<CancellationToken>());
        Assert.Empty(_fakes.Applied.All());
    }
}
