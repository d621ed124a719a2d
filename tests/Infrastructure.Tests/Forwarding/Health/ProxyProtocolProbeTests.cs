using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Demo;
using LoadBalancer.Infrastructure.Forwarding.Health;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Health;

/// <summary>
/// Checks of a listener with the PROXY protocol on start with the header too, so that a backend that requires one
/// (nginx with <c>listen ... proxy_protocol</c>) answers them: v2 sends LOCAL, v1 a line of the check's own addresses.
/// </summary>
public sealed class ProxyProtocolProbeTests : IAsyncDisposable
{
    private readonly Socket _backend = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly ConcurrentQueue<ProxyHeaderInfo?> _headers = new();
    private readonly CancellationTokenSource _stopping = new(TimeSpan.FromSeconds(30));
    private readonly Task _serving;

    public ProxyProtocolProbeTests()
    {
        _backend.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.127"), 0));
        _backend.Listen(16);
        _serving = ServeAsync();
    }

    private IPEndPoint Backend => (IPEndPoint)_backend.LocalEndPoint!;

    [Fact]
    public async Task HttpProbe_V2_SendsLocalThenTheRequest_AndIsHealthy()
    {
        var healthy = await new HttpHealthProbe("/", ProxyProtocolVersion.V2).ProbeAsync(Backend, _stopping.Token);

        Assert.True(healthy);
        var header = Assert.Single(_headers);
        Assert.NotNull(header);
        Assert.Equal(ProxyProtocolVersion.V2, header.Version);
        Assert.Null(header.Source);
    }

    [Fact]
    public async Task HttpProbe_V1_SendsALineWithTheChecksOwnAddresses_AndIsHealthy()
    {
        var healthy = await new HttpHealthProbe("/", ProxyProtocolVersion.V1).ProbeAsync(Backend, _stopping.Token);

        Assert.True(healthy);
        var header = Assert.Single(_headers);
        Assert.NotNull(header);
        Assert.Equal(ProxyProtocolVersion.V1, header.Version);
        Assert.Equal(Backend, header.Destination);
        Assert.Equal(IPAddress.Loopback, header.Source?.Address);
    }

    [Fact]
    public async Task HttpProbe_WithoutHeader_AgainstABackendThatRequiresOne_IsUnhealthy()
    {
        var healthy = await new HttpHealthProbe("/").ProbeAsync(Backend, _stopping.Token);

        Assert.False(healthy);
    }

    [Fact]
    public async Task TcpProbe_V2_SendsLocalBeforeClosing()
    {
        var healthy = await new TcpHealthProbe(ProxyProtocolVersion.V2).ProbeAsync(Backend, _stopping.Token);

        Assert.True(healthy);
        await Support.Bounded.UntilAsync(() => !_headers.IsEmpty, TimeSpan.FromSeconds(5), "the backend to read the check's header");
        Assert.Equal(ProxyProtocolVersion.V2, Assert.Single(_headers)?.Version);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _backend.Dispose();
        await _serving.ContinueWith(_ => { }, TaskScheduler.Default);
        _stopping.Dispose();
    }

    /// <summary>Like nginx with proxy_protocol: a connection without a valid header is closed unanswered.</summary>
    private async Task ServeAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            using var connection = await _backend.AcceptAsync(_stopping.Token);
            await using var stream = new NetworkStream(connection, ownsSocket: false);
            var (header, _) = await ProxyHeaderReader.ReadAsync(stream, _stopping.Token);
            _headers.Enqueue(header);
            if (header is null)
            {
                continue;
            }

            var request = new byte[4096];
            var read = await stream.ReadAsync(request, _stopping.Token);
            if (read > 0 && Encoding.ASCII.GetString(request, 0, read).StartsWith("GET / HTTP/1.1\r\n", StringComparison.Ordinal))
            {
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stopping.Token);
            }
        }
    }
}
