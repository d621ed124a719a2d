using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Host.Tests.Demo;

public sealed class DemoBackendTests
{
    [Fact]
    public async Task DemoBackend_AnswersEachAddressWithItsNameAndStopsOnCancel()
    {
        var (first, second) = (Net.FreePort("127.0.0.61"), Net.FreePort("127.0.0.62"));
        using var output = new SharedWriter();
        using var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = Support.InProcess.RunAsync(["demo-backend", "--listen", $"127.0.0.61:{first}", "--listen", $"127.0.0.62:{second}"], output, error, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains($"127.0.0.62:{second}", StringComparison.Ordinal), TimeSpan.FromSeconds(5)), error.ToString());

            Assert.Equal($"hello from 127.0.0.61:{first}", await Net.GetAsync("127.0.0.61", first));
            Assert.Equal($"hello from 127.0.0.62:{second}", await Net.GetAsync("127.0.0.62", second));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        Assert.Null(await Net.GetAsync("127.0.0.61", first));
    }

    [Fact]
    public async Task DemoBackend_ListenUdp_AnswersEachDatagramWithItsNameAndTheDatagram()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.120"), 0));
            port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }

        using var output = new SharedWriter();
        using var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = Support.InProcess.RunAsync(["demo-backend", "--listen-udp", $"127.0.0.120:{port}"], output, error, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains($"127.0.0.120:{port}/UDP", StringComparison.Ordinal), TimeSpan.FromSeconds(5)), error.ToString());

            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            await client.ConnectAsync(System.Net.IPAddress.Parse("127.0.0.120"), port);
            await client.SendAsync(Encoding.ASCII.GetBytes("ping"));
            var buffer = new byte[256];
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var length = await client.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
            Assert.Equal($"hello from 127.0.0.120:{port}: ping", Encoding.ASCII.GetString(buffer, 0, length));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }

    [Fact]
    public async Task DemoBackend_KeepAlive_AnswersSeveralRequestsOnOneConnectionSkippingBodies()
    {
        var port = Net.FreePort("127.0.0.63");
        using var output = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = Support.InProcess.RunAsync(["demo-backend", "--listen", $"127.0.0.63:{port}"], output, TextWriter.Null, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains("listening", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.63", port, stop.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), stop.Token);
            using var reader = new StreamReader(stream);
            var all = await reader.ReadToEndAsync(stop.Token);

            Assert.Equal(2, all.Split("HTTP/1.1 200 OK").Length - 1);
            Assert.Contains("Connection: keep-alive", all, StringComparison.Ordinal);
            Assert.Contains("Connection: close", all, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task DemoBackend_AddressInUse_ExitsWithAnErrorNamingIt()
    {
        using var taken = new TcpListener(System.Net.IPAddress.Parse("127.0.0.64"), 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        using var error = new SharedWriter();

        var exitCode = await Support.InProcess.RunAsync(["demo-backend", "--listen", $"127.0.0.64:{port}"], TextWriter.Null, error, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: --listen 127.0.0.64:{port}: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DemoBackend_ProxyProtocol_AnswersWithTheClientTheHeaderNames_AndClosesAConnectionWithoutOne()
    {
        var port = Net.FreePort("127.0.0.128");
        using var output = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = Support.InProcess.RunAsync(["demo-backend", "--proxy-protocol", "--listen", $"127.0.0.128:{port}"], output, TextWriter.Null, stop.Token);
        try
        {
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains("listening", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));

            Assert.Contains(
                $"hello from 127.0.0.128:{port} to client 203.0.113.7:40000",
                await ExchangeAsync(port, $"PROXY TCP4 203.0.113.7 127.0.0.128 40000 {port}\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", stop.Token),
                StringComparison.Ordinal);
            Assert.Equal(string.Empty, await ExchangeAsync(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", stop.Token));
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static async Task<string> ExchangeAsync(int port, string request, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.128", port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
        try
        {
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellationToken);
        }
        catch (IOException)
        {
            // Closed with unread bytes in its buffer: a reset, which is as much "no answer" as an empty read.
            return string.Empty;
        }
    }
}
