using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Tests.Services;

public sealed class ServicePortTests
{
    [Fact]
    public void ToString_TcpIsBarePortAndUdpHasSuffix()
    {
        Assert.Equal("80", ServicePort.Tcp(80).ToString());
        Assert.Equal("53/UDP", ServicePort.Udp(53).ToString());
    }

    [Fact]
    public void Equality_TcpAndUdpOnSameNumber_Differ()
    {
        Assert.NotEqual(ServicePort.Tcp(53), ServicePort.Udp(53));
        Assert.Equal(ServicePort.Tcp(53), new ServicePort(TransportProtocol.Tcp, 53));
        Assert.True(ServicePort.Tcp(53) < ServicePort.Udp(53));
        Assert.True(ServicePort.Udp(53) < ServicePort.Tcp(54));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Constructor_PortOutOfRange_Throws(int port)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ServicePort.Tcp(port));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65535)]
    public void Constructor_PortAtLimit_IsAccepted(int port)
    {
        Assert.Equal(port, ServicePort.Udp(port).Port);
    }

    [Fact]
    public void Constructor_UnknownProtocol_Throws()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ServicePort((TransportProtocol)7, 80));

        Assert.Equal("protocol", error.ParamName);
    }
}
