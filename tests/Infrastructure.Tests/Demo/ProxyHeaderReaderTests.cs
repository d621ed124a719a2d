using System.Net;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Demo;

namespace LoadBalancer.Infrastructure.Tests.Demo;

public sealed class ProxyHeaderReaderTests
{
    [Fact]
    public async Task Read_V1Line_GivesItsAddresses_AndLeavesWhatFollows()
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n"));

        var (header, error) = await ReadAsync(stream);

        Assert.Null(error);
        Assert.Equal(new ProxyHeaderInfo(ProxyProtocolVersion.V1, EndPoint("192.168.0.1", 56324), EndPoint("192.168.0.11", 443)), header);
        Assert.Equal("GET / HTTP/1.1\r\n", new StreamReader(stream).ReadToEnd());
    }

    [Fact]
    public async Task Read_V2Header_GivesItsAddresses_AndLeavesWhatFollows()
    {
        using var stream = new MemoryStream(Convert.FromHexString("0D0A0D0A000D0A515549540A" + "2121" + "0024"
            + "20010DB8000000000000000000000001" + "FD000000000000000000000000000002" + "04D2" + "0050" + "414243"));

        var (header, error) = await ReadAsync(stream);

        Assert.Null(error);
        Assert.Equal(new ProxyHeaderInfo(ProxyProtocolVersion.V2, EndPoint("2001:db8::1", 1234), EndPoint("fd00::2", 80)), header);
        Assert.Equal("ABC", new StreamReader(stream).ReadToEnd());
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n")]
    [InlineData("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n")]
    [InlineData("PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n")]
    [InlineData("PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n")]
    [InlineData("PROXY TCP6 192.168.0.1 192.168.0.11 1 2\r\n")]
    [InlineData("PROXY TCP4 192.168.0.1")]
    public async Task Read_NotAValidHeader_IsAnError(string text)
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes(text));

        var (header, error) = await ReadAsync(stream);

        Assert.Null(header);
        Assert.NotNull(error);
    }

    private static Task<(ProxyHeaderInfo? Header, string? Error)> ReadAsync(Stream stream) => ProxyHeaderReader.ReadAsync(stream, CancellationToken.None);

    private static IPEndPoint EndPoint(string address, int port) => new(IPAddress.Parse(address), port);
}
