using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Infrastructure.Tests.Standalone;

public sealed class EndpointTextTests
{
    [Theory]
    [InlineData("127.0.0.1:9001", null, "127.0.0.1:9001")]
    [InlineData(" 10.0.0.1:80 ", null, "10.0.0.1:80")]
    [InlineData("[::1]:9001", null, "[::1]:9001")]
    [InlineData("10.0.0.1", 8080, "10.0.0.1:8080")]
    [InlineData("::1", 53, "[::1]:53")]
    public void TryParse_GoodText_GivesTheEndpoint(string text, int? defaultPort, string expected)
    {
        Assert.True(EndpointText.TryParse(text, defaultPort, out var endpoint, out var error), error);
        Assert.Equal(expected, endpoint.ToString());
    }

    [Theory]
    [InlineData("10.0.0.1", "'10.0.0.1' has no port; write 10.0.0.1:PORT")]
    [InlineData("10.0.0.1:http", "'10.0.0.1:http': port 'http' must be a number from 1 to 65535")]
    [InlineData("10.0.0.1:65536", "'10.0.0.1:65536': port '65536' must be a number from 1 to 65535")]
    [InlineData("10.1:80", "'10.1:80': invalid IP address: '10.1'")]
    [InlineData("[::1:80", "'[::1:80' is not IP:PORT ([v6]:PORT for IPv6)")]
    [InlineData("", "'': invalid IP address: ''")]
    public void TryParse_BadText_SaysWhyNamingTheText(string text, string expected)
    {
        Assert.False(EndpointText.TryParse(text, null, out _, out var error));
        Assert.Equal(expected, error);
    }
}
