using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Udp;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Udp;

public sealed class UdpFlowKeyTests
{
    [Theory]
    [InlineData("127.0.0.1", 53)]
    [InlineData("10.1.2.3", 65535)]
    [InlineData("2001:db8::7", 5353)]
    [InlineData("::1", 1)]
    public void FromSockaddr_ReadsTheClientBack_AndKeysAreEqualForTheSameClientOnly(string address, int port)
    {
        var client = new IPEndPoint(IPAddress.Parse(address), port);
        var sockaddr = Sockaddr(client);

        Assert.Equal(client, UdpFlowKey.ToEndPoint(sockaddr));
        Assert.Equal(UdpFlowKey.From(sockaddr), UdpFlowKey.From(Sockaddr(client)));
        Assert.NotEqual(UdpFlowKey.From(sockaddr), UdpFlowKey.From(Sockaddr(new IPEndPoint(client.Address, port == 1 ? 2 : port - 1))));
    }

    [Fact]
    public void TheSameNumbers_InIPv4AndIPv6_AreDifferentClients()
    {
        var v4 = UdpFlowKey.From(Sockaddr(new IPEndPoint(IPAddress.Parse("0.0.0.1"), 53)));
        var v6 = UdpFlowKey.From(Sockaddr(new IPEndPoint(IPAddress.Parse("::1"), 53)));

        Assert.NotEqual(v4, v6);
    }

    /// <summary>The sockaddr the kernel fills in, as .NET serializes it (family in host order, port in network order).</summary>
    private static byte[] Sockaddr(IPEndPoint endPoint)
    {
        var address = endPoint.Serialize();
        return address.Buffer.Span[..address.Size].ToArray();
    }
}
