using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Addressing;

public sealed class PortBindingTests
{
    [Theory]
    [InlineData("192.168.0.194", TransportProtocol.Tcp, 80, "192.168.0.194:80")]
    [InlineData("192.168.0.194", TransportProtocol.Udp, 53, "192.168.0.194:53/UDP")]
    [InlineData("2001:db8::1", TransportProtocol.Tcp, 443, "[2001:db8::1]:443")]
    [InlineData("2001:db8::1", TransportProtocol.Udp, 53, "[2001:db8::1]:53/UDP")]
    public void ToString_WritesIpColonPortWithBracketsForIpv6(string ip, TransportProtocol protocol, int port, string expected)
    {
        var binding = new PortBinding(Ip(ip), new ServicePort(protocol, port));

        Assert.Equal(expected, binding.ToString());
        Assert.Equal(protocol, binding.Protocol);
    }
}
