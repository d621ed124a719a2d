using System.Net;
using LoadBalancer.Infrastructure.Admin;

namespace LoadBalancer.Infrastructure.Tests.Admin;

public sealed class AdminAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:9090", "127.0.0.1:9090")]
    [InlineData(" 0.0.0.0:80 ", "0.0.0.0:80")]
    [InlineData("[::1]:9090", "[::1]:9090")]
    public void TryParse_IpAndPort(string value, string expected)
    {
        Assert.True(AdminAddress.TryParse(value, out var endPoint, out var problem), problem);
        Assert.Equal(IPEndPoint.Parse(expected), endPoint);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("NONE")]
    public void TryParse_None_IsNoEndpoint(string value)
    {
        Assert.True(AdminAddress.TryParse(value, out var endPoint, out _));
        Assert.Null(endPoint);
    }

    [Theory]
    [InlineData("localhost:9090")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("::1")]
    [InlineData("9090")]
    [InlineData("")]
    [InlineData("127.0.0.1 :9090")]
    public void TryParse_Refuses_NamingTheValueQuoted(string value)
    {
        Assert.False(AdminAddress.TryParse(value, out _, out var problem));
        Assert.StartsWith($"'{value}' is not IP:PORT", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:9090", "http://127.0.0.1:9090/")]
    [InlineData("0.0.0.0:9090", "http://127.0.0.1:9090/")]
    [InlineData("[::]:9090", "http://[::1]:9090/")]
    [InlineData("[::1]:9091", "http://[::1]:9091/")]
    public void BaseUri_AWildcardIsAskedOnLoopback(string endPoint, string expected) =>
        Assert.Equal(new Uri(expected), AdminAddress.BaseUri(IPEndPoint.Parse(endPoint)));
}
