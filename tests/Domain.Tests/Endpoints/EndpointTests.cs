using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Endpoints;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Endpoints;

public sealed class EndpointTests
{
    [Fact]
    public void Constructor_Defaults_AreReadyWithoutNodeName()
    {
        var endpoint = new Endpoint(Ip("10.1.2.3"), 30080);

        Assert.Equal(Ip("10.1.2.3"), endpoint.Address);
        Assert.Equal(30080, endpoint.Port);
        Assert.Null(endpoint.NodeName);
        Assert.True(endpoint.Ready);
    }

    [Fact]
    public void Constructor_Ipv4MappedAddress_BecomesIpv4()
    {
        var endpoint = new Endpoint(Ip("::ffff:10.1.2.3"), 8080, "worker-1", ready: false);

        Assert.Equal(AddressFamily.InterNetwork, endpoint.Address.AddressFamily);
        Assert.Equal("10.1.2.3:8080", endpoint.ToString());
        Assert.Equal("worker-1", endpoint.NodeName);
        Assert.False(endpoint.Ready);
    }

    [Fact]
    public void ToString_Ipv6_UsesBrackets()
    {
        Assert.Equal("[2001:db8::7]:30080", new Endpoint(Ip("2001:db8::7"), 30080).ToString());
    }

    [Fact]
    public void ToIPEndPoint_CarriesAddressAndPort()
    {
        var endPoint = new Endpoint(Ip("10.1.2.3"), 30080).ToIPEndPoint();

        Assert.Equal(new IPEndPoint(Ip("10.1.2.3"), 30080), endPoint);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Constructor_PortOutOfRange_Throws(int port)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Endpoint(Ip("10.1.2.3"), port));
    }

    [Fact]
    public void Constructor_NullAddress_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new Endpoint(null!, 80));
    }

    [Fact]
    public void Equality_SameValues_AreEqual()
    {
        Assert.Equal(new Endpoint(Ip("10.1.2.3"), 80, "n1"), new Endpoint(Ip("::ffff:10.1.2.3"), 80, "n1"));
        Assert.NotEqual(new Endpoint(Ip("10.1.2.3"), 80, "n1"), new Endpoint(Ip("10.1.2.3"), 80, "n1", ready: false));
    }
}
