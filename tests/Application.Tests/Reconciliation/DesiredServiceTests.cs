using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Reconciliation;

public sealed class DesiredServiceTests
{
    private static readonly TimeSpan TenMinutes = TimeSpan.FromMinutes(10);

    [Theory]
    [InlineData(600, 600, true)]
    [InlineData(null, null, true)]
    [InlineData(600, 60, false)]
    [InlineData(600, null, false)]
    [InlineData(null, 600, false)]
    public void IsServedBy_ComparesTheAffinityTimeoutOfTheRunningListeners(int? desiredSeconds, int? runningSeconds, bool served)
    {
        var spec = Spec("web", 80);
        var desired = new DesiredService(spec, []) { AffinityTimeout = Seconds(desiredSeconds) };
        var listener = new ListenerSpec(new PortBinding(Ip("192.168.0.225"), ServicePort.Tcp(80)), spec.Key, [], LoadBalancingPolicyNames.Default)
        {
            AffinityTimeout = Seconds(runningSeconds),
        };
        var running = new AppliedService(spec, Ip("192.168.0.225"), [listener], LoadBalancingPolicyNames.Default, HealthCheckSettings.Default);

        Assert.Equal(served, desired.IsServedBy(running));
    }

    [Fact]
    public void SameAs_AndToCommand_CarryTheAffinityTimeout()
    {
        var desired = new DesiredService(Spec("web", 80), []) { AffinityTimeout = TenMinutes };

        Assert.True(desired.SameAs(desired with { }));
        Assert.False(desired.SameAs(desired with { AffinityTimeout = null }));
        Assert.Equal(TenMinutes, desired.ToCommand().AffinityTimeout);
    }

    private static TimeSpan? Seconds(int? seconds) => seconds is { } value ? TimeSpan.FromSeconds(value) : null;

    private static readonly ServiceSpec Dns = Spec("dns", 53) with { Ports = [Tcp(53), Udp(53)] };

    [Fact]
    public void IsServedBy_TheSameUdpFlowIdleTimeout_IsServed_AnotherOneIsNot()
    {
        var running = Running(udpFlowIdleTimeout: TimeSpan.FromSeconds(5));

        Assert.True(new DesiredService(Dns, []) { UdpFlowIdleTimeout = TimeSpan.FromSeconds(5) }.IsServedBy(running));
        Assert.False(new DesiredService(Dns, []) { UdpFlowIdleTimeout = TimeSpan.FromSeconds(10) }.IsServedBy(running));
        Assert.False(new DesiredService(Dns, []).IsServedBy(running));
    }

    [Fact]
    public void SameAs_ComparesTheUdpFlowIdleTimeout_AndToCommandCarriesIt()
    {
        var desired = new DesiredService(Dns, []) { UdpFlowIdleTimeout = TimeSpan.FromSeconds(5) };

        Assert.True(desired.SameAs(desired with { }));
        Assert.False(desired.SameAs(desired with { UdpFlowIdleTimeout = null }));
        Assert.Equal(TimeSpan.FromSeconds(5), desired.ToCommand().UdpFlowIdleTimeout);
    }

    /// <summary>As ApplyService leaves it: the TCP listener without a flow timeout, the UDP one with the Service's.</summary>
    private static AppliedService Running(TimeSpan? udpFlowIdleTimeout)
    {
        var ip = IPAddress.Parse("192.168.0.225");
        ListenerSpec[] listeners =
        [
            new(new PortBinding(ip, ServicePort.Tcp(53)), Dns.Key, [], LoadBalancingPolicyNames.Default),
            new(new PortBinding(ip, ServicePort.Udp(53)), Dns.Key, [], LoadBalancingPolicyNames.Default) { UdpFlowIdleTimeout = udpFlowIdleTimeout },
        ];
        return new AppliedService(Dns, ip, listeners, LoadBalancingPolicyNames.Default, HealthCheckSettings.Default);
    }
}
