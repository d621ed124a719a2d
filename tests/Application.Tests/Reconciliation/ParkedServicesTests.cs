using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Reconciliation;

public sealed class ParkedServicesTests
{
    private static readonly ServiceKey Svc2 = new("default", "svc2");
    private readonly ParkedServices _parked = new();

    [Fact]
    public void ExplicitIpTaken_WaitsWithTheSameSpec_AndWakesOnlyOnAReleaseOnThatIp()
    {
        var spec = Spec("svc2", 80) with { LoadBalancerIp = "192.168.0.230" };
        _parked.Park(Svc2, spec, Refusal(RefusalKind.PortInUse));

        Assert.True(_parked.IsWaiting(Svc2, spec with { Ports = [Tcp(80)] }));
        Assert.Empty(_parked.Wake([Binding("192.168.0.225", 80)]));
        Assert.Equal([Svc2], _parked.Wake([Binding("192.168.0.230", 443)]));
        Assert.False(_parked.IsWaiting(Svc2, spec));
        Assert.Empty(_parked.Wake([Binding("192.168.0.230", 80)]));
    }

    [Fact]
    public void PoolExhausted_WakesOnAnyRelease()
    {
        var spec = Spec("svc2", 80);
        _parked.Park(Svc2, spec, Refusal(RefusalKind.PoolExhausted));

        Assert.Equal([Svc2], _parked.Wake([Binding("192.168.0.238", 9999)]));
    }

    [Theory]
    [InlineData(RefusalKind.OutsidePool)]
    [InlineData(RefusalKind.Excluded)]
    [InlineData(RefusalKind.NetworkOrBroadcast)]
    public void AddressTheCannotBeHadFromThisPool_WakesOnNoRelease_OnlyOnItsOwnEdit(RefusalKind kind)
    {
        var spec = Spec("svc2", 80) with { LoadBalancerIp = "10.0.0.1" };
        _parked.Park(Svc2, spec, Refusal(kind));

        Assert.Empty(_parked.Wake([Binding("10.0.0.1", 80)]));
        Assert.True(_parked.IsWaiting(Svc2, spec));
        Assert.False(_parked.IsWaiting(Svc2, spec with { LoadBalancerIp = "192.168.0.230" }));
    }

    [Theory]
    [InlineData(RefusalKind.OutsidePool)]
    [InlineData(RefusalKind.PortInUse)]
    [InlineData(RefusalKind.PoolExhausted)]
    public void WakeAll_AfterThePoolsChanged_TriesEveryRefusedServiceAgain(RefusalKind kind)
    {
        var spec = Spec("svc2", 80) with { LoadBalancerIp = "10.0.0.1" };
        _parked.Park(Svc2, spec, Refusal(kind));

        _parked.WakeAll();

        Assert.False(_parked.IsWaiting(Svc2, spec));
    }

    [Fact]
    public void Invalid_WaitsUntilItsSpecChanges_AndNothingReleasedWakesIt()
    {
        var spec = Spec("svc2", 0);
        _parked.ParkInvalid(Svc2, spec, "spec.ports[0].port: 0 is not a port");

        Assert.Empty(_parked.Wake([Binding("192.168.0.225", 80)]));
        Assert.True(_parked.IsWaiting(Svc2, spec));
        Assert.False(_parked.IsWaiting(Svc2, Spec("svc2", 80)));
    }

    [Fact]
    public void Forgotten_DoesNotWait()
    {
        _parked.ParkInvalid(Svc2, Spec("svc2", 0), "spec.ports[0].port: 0 is not a port");

        _parked.Forget(Svc2);

        Assert.False(_parked.IsWaiting(Svc2, Spec("svc2", 0)));
        Assert.Equal(0, _parked.Count);
    }

    private static AllocationRefusal Refusal(RefusalKind kind) => new(Svc2, kind, "reason", "message");

    private static PortBinding Binding(string ip, int port) => new(Ip(ip), ServicePort.Tcp(port));
}
