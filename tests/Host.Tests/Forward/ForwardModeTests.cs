namespace LoadBalancer.Host.Tests.Forward;

/// <summary>Real sockets on 127.0.0.x: the demo backends behind <c>loadbalancer forward</c>.</summary>
public sealed class ForwardModeTests
{
    [Theory]
    [InlineData("io_uring")]
    [InlineData("splice")]
    [InlineData("copy")]
    public async Task Forward_TwoBackends_RoundRobinsNewConnectionsAndExitsZeroOnCancel(string engine)
    {
        var (one, two) = (Net.FreePort("127.0.0.71"), Net.FreePort("127.0.0.72"));
        var listen = Net.FreePort("127.0.0.70");
        using var output = new SharedWriter();
        using var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var backends = Support.InProcess.RunAsync(["demo-backend", "--listen", $"127.0.0.71:{one}", "--listen", $"127.0.0.72:{two}"], TextWriter.Null, TextWriter.Null, stop.Token);
        var forward = Support.InProcess.RunAsync(
            ["forward", "--listen", $"127.0.0.70:{listen}", "--backend", $"127.0.0.71:{one}", "--backend", $"127.0.0.72:{two}", "--engine", engine, "--no-health-check"],
            output, error, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains("forwarding", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), error.ToString());
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.0.71", one) is not null, TimeSpan.FromSeconds(5)));

            var answers = new List<string?>();
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await Net.GetAsync("127.0.0.70", listen));
            }

            Assert.Equal(
                [$"hello from 127.0.0.71:{one}", $"hello from 127.0.0.72:{two}"],
                answers.Distinct().Order(StringComparer.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await forward.WaitAsync(TimeSpan.FromSeconds(20)));
            await backends.WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Null(await Net.GetAsync("127.0.0.70", listen));
    }

    [Theory]
    [InlineData("io_uring", "v2")]
    [InlineData("splice", "v1")]
    [InlineData("copy", "V2")]
    public async Task Forward_WithProxyProtocol_TheBackendLearnsTheClientsAddressAndPort(string engine, string version)
    {
        var backend = Net.FreePort("127.0.0.73");
        var listen = Net.FreePort("127.0.0.74");
        using var output = new SharedWriter();
        using var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var backends = Support.InProcess.RunAsync(["demo-backend", "--proxy-protocol", "--listen", $"127.0.0.73:{backend}"], TextWriter.Null, TextWriter.Null, stop.Token);
        var forward = Support.InProcess.RunAsync(
            ["forward", "--listen", $"127.0.0.74:{listen}", "--backend", $"127.0.0.73:{backend}", "--engine", engine, "--proxy-protocol", version],
            output, error, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains("forwarding", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), error.ToString());
            Assert.True(await Net.EventuallyAsync(() => AcceptsAsync("127.0.0.73", backend), TimeSpan.FromSeconds(10)), "the demo backend listens");

            using var client = new System.Net.Sockets.TcpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.75"), 0));
            await client.ConnectAsync("127.0.0.74", listen);
            var local = (System.Net.IPEndPoint)client.Client.LocalEndPoint!;
            var stream = client.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            using var reader = new StreamReader(stream);
            var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));

            Assert.EndsWith($"hello from 127.0.0.73:{backend} to client {local}", response.TrimEnd(), StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await forward.WaitAsync(TimeSpan.FromSeconds(20)));
            await backends.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static async Task<bool> AcceptsAsync(string ip, int port)
    {
        using var probe = new System.Net.Sockets.TcpClient();
        try
        {
            await probe.ConnectAsync(ip, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
