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
