using System.Net.Sockets;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Services;

public sealed class LoadBalancerRequestTests
{
    private static readonly DateTimeOffset Created = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Constructor_Ports_AreSortedByNumberThenProtocol()
    {
        var request = Request("dns",
            [ServicePort.Tcp(443), ServicePort.Udp(53), ServicePort.Tcp(80), ServicePort.Tcp(53)]);

        Assert.Equal([ServicePort.Tcp(53), ServicePort.Udp(53), ServicePort.Tcp(80), ServicePort.Tcp(443)], request.Ports);
    }

    [Fact]
    public void Constructor_Defaults_AreSharedWithoutExplicitIp()
    {
        var request = Tcp("web", 80);

        Assert.Equal(Key("web"), request.Service);
        Assert.Same(IpSharing.Shared, request.Sharing);
        Assert.Null(request.RequestedIp);
        Assert.Equal(default, request.CreatedAt);
    }

    [Fact]
    public void Constructor_SamePortTwice_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Tcp("web", 80, 443, 80));

        Assert.Equal("ports", error.ParamName);
        Assert.StartsWith("service default/web lists port 80 twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_TcpAndUdpOnSameNumber_AreDifferentPorts()
    {
        var request = Request("dns", [ServicePort.Udp(53), ServicePort.Tcp(53)]);

        Assert.Equal(2, request.Ports.Count);
    }

    [Fact]
    public void Constructor_NoPorts_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Request("web", []));

        Assert.StartsWith("service default/web has no ports", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_DefaultServiceKey_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => new LoadBalancerRequest(default, [ServicePort.Tcp(80)]));

        Assert.Equal("service", error.ParamName);
    }

    [Fact]
    public void Constructor_Ipv4MappedRequestedIp_BecomesIpv4()
    {
        var request = Request("web", [ServicePort.Tcp(80)], ip: "::ffff:192.168.0.230");

        Assert.Equal(AddressFamily.InterNetwork, request.RequestedIp!.AddressFamily);
        Assert.Equal(Ip("192.168.0.230"), request.RequestedIp);
    }

    [Fact]
    public void AsksSameAs_SamePortsInOtherOrderAndOtherCreationTime_IsTrue()
    {
        var first = Request("web", [ServicePort.Tcp(80), ServicePort.Tcp(443)], "192.168.0.230", IpSharing.WithKey("k"));
        var second = Request("web", [ServicePort.Tcp(443), ServicePort.Tcp(80)], "192.168.0.230", IpSharing.WithKey("k"), Created);

        Assert.True(first.AsksSameAs(second));
        Assert.True(second.AsksSameAs(first));
    }

    [Fact]
    public void AsksSameAs_DifferentPorts_IsFalse()
    {
        Assert.False(Tcp("web", 80).AsksSameAs(Tcp("web", 80, 443)));
        Assert.False(Tcp("web", 53).AsksSameAs(Request("web", [ServicePort.Udp(53)])));
    }

    [Fact]
    public void AsksSameAs_DifferentRequestedIp_IsFalse()
    {
        var dynamic = Tcp("web", 80);
        var explicitIp = Request("web", [ServicePort.Tcp(80)], "192.168.0.230");
        var otherIp = Request("web", [ServicePort.Tcp(80)], "192.168.0.231");

        Assert.False(dynamic.AsksSameAs(explicitIp));
        Assert.False(explicitIp.AsksSameAs(dynamic));
        Assert.False(explicitIp.AsksSameAs(otherIp));
    }

    [Fact]
    public void AsksSameAs_DifferentSharing_IsFalse()
    {
        var shared = Tcp("web", 80);

        Assert.False(shared.AsksSameAs(Request("web", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive)));
        Assert.False(Request("web", [ServicePort.Tcp(80)], sharing: IpSharing.WithKey("a"))
            .AsksSameAs(Request("web", [ServicePort.Tcp(80)], sharing: IpSharing.WithKey("b"))));
    }

    [Fact]
    public void AsksSameAs_OtherService_IsFalse()
    {
        Assert.False(Tcp("web", 80).AsksSameAs(Tcp("api", 80)));
    }
}
