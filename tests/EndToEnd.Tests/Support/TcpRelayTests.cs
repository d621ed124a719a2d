using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.EndToEnd.Tests.Support;

public sealed class TcpRelayTests
{
    [Fact]
    public async Task Relays_BothWaysWithHalfClose_CutResetsAndRefuses_RestoreRelaysAgain()
    {
        using var target = new TcpListener(IPAddress.Loopback, 0);
        target.Start();
        await using var relay = TcpRelay.Start(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)target.LocalEndpoint);

        Assert.Equal("echo:ping", await AskAsync(relay, target));

        using var open = new TcpClient();
        await open.ConnectAsync(relay.Listening);
        using var accepted = await target.AcceptTcpClientAsync();
        relay.Cut();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[16];
        // Ended (reset or end of stream) well before the timeout, which would throw OperationCanceledException.
        Assert.IsNotType<InvalidOperationException>(await Record(() => open.GetStream().ReadAsync(buffer, timeout.Token).AsTask()));

        using (var refused = new TcpClient())
        {
            // Reset at once: the connect itself may already see it.
            Assert.IsNotType<InvalidOperationException>(await Record(async () =>
            {
                await refused.ConnectAsync(relay.Listening, timeout.Token);
                return await refused.GetStream().ReadAsync(buffer, timeout.Token);
            }));
        }

        Assert.False(target.Pending(), "a connection made while cut reached the target");

        relay.Restore();
        Assert.Equal("echo:ping", await AskAsync(relay, target));
    }

    private static async Task<Exception?> Record(Func<Task<int>> read)
    {
        try
        {
            return await read() == 0 ? null : new InvalidOperationException("data arrived");
        }
        catch (Exception failure) when (failure is IOException or SocketException)
        {
            return failure;
        }
    }

    private static async Task<string> AskAsync(TcpRelay relay, TcpListener target)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync(relay.Listening, timeout.Token);
        var serving = Task.Run(async () =>
        {
            using var peer = await target.AcceptTcpClientAsync(timeout.Token);
            var request = await new StreamReader(peer.GetStream()).ReadToEndAsync(timeout.Token);
            await peer.GetStream().WriteAsync(Encoding.ASCII.GetBytes("echo:" + request), timeout.Token);
        });
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("ping"), timeout.Token);
        client.Client.Shutdown(SocketShutdown.Send);
        var answer = await new StreamReader(stream).ReadToEndAsync(timeout.Token);
        await serving;
        return answer;
    }
}
