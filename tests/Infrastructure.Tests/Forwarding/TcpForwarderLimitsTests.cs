using System.Net.Sockets;
using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>The limits a listener puts on its connections: how many at once, and how long one may sit idle.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderLimitsTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task MaxConnections_OneOverTheLimitIsClosedAtOnceAndCountedAndAFreedSlotIsReused(ForwardingEngine engine)
    {
        const int Limit = 5;
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = LoopbackAddresses.NextListenerBinding();
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [echo.Endpoint], maxConnections: Limit));
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                var client = await TestSockets.ConnectAsync(binding);
                clients.Add(client);
                await client.EchoAsync(Encoding.ASCII.GetBytes($"within the limit {i}"));
            }

            var closed = await TestSockets.ConnectAndWaitForCloseAsync(binding, TimeSpan.FromSeconds(3), "the connection over the limit");
            output.WriteLine($"{engine}: the connection over the limit saw {closed}");
            Assert.True(closed.After < TimeSpan.FromSeconds(1), $"the connection over the limit should be closed at once; it saw {closed}");
            Assert.Equal(0, closed.BytesBeforeClose);

            await forwarder.WaitForStatisticsAsync(
                binding,
                statistics => statistics.Listener.ConnectionsRejected == 1 && statistics.Listener.ConnectionsActive == Limit,
                "one rejected connection and the limit active");
            Assert.Equal(Limit, echo.Accepted);

            clients[0].Dispose();
            await forwarder.WaitForStatisticsAsync(
                binding, statistics => statistics.Listener.ConnectionsActive == Limit - 1, "the closed connection to free its slot");

            var replacement = await TestSockets.ConnectAsync(binding);
            clients.Add(replacement);
            await replacement.EchoAsync("in the freed slot"u8.ToArray());
            Assert.Equal(Limit + 1, echo.Accepted);
            Assert.Equal(1, forwarder.Statistics(binding).Listener.ConnectionsRejected);
        }
        finally
        {
            TestSockets.DisposeAll(clients);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task IdleTimeout_IdleConnectionIsClosedAndABusyOneIsNot(ForwardingEngine engine)
    {
        // A whole second, so that a test machine busy with other suites cannot stall the busy connection's 100 ms ticks
        // past it.
        var idleTimeout = TimeSpan.FromSeconds(1);
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { IdleTimeout = idleTimeout });
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var idle = await TestSockets.ConnectAsync(binding);
        using var busy = await TestSockets.ConnectAsync(binding);
        await busy.EchoAsync("busy"u8.ToArray());
        await idle.EchoAsync("idle"u8.ToArray());

        // Busy: a message every 100 ms for 3 s, three idle timeouts' worth.
        var busyWork = Task.Run(async () =>
        {
            for (var i = 0; i < 30; i++)
            {
                await Task.Delay(100);
                await busy.EchoAsync(Encoding.ASCII.GetBytes($"tick {i}"));
            }
        });
        var closed = await idle.WaitForCloseAsync(TimeSpan.FromSeconds(3), "the idle connection to be closed");
        output.WriteLine($"{engine}: the idle connection saw {closed}");
        await Bounded.WithinAsync(busyWork, TimeSpan.FromSeconds(8), "the busy connection's 30 echoes");

        Assert.True(closed.After >= idleTimeout - TimeSpan.FromMilliseconds(100), $"the idle connection was closed before its timeout: {closed}");
        Assert.True(closed.Kind is CloseKind.Eof or CloseKind.Reset, $"the idle connection should be closed; it saw {closed}");
        await busy.EchoAsync("still here"u8.ToArray());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task IdleTimeout_ClosesWithFinNotReset(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var idle = await TestSockets.ConnectAsync(binding);
        await idle.EchoAsync("idle"u8.ToArray());

        var closed = await idle.WaitForCloseAsync(TimeSpan.FromSeconds(3), "the idle connection to be closed");

        // Nothing went wrong on an idle connection: both engines mean to close it gracefully (reset: false).
        Assert.True(closed.Kind == CloseKind.Eof, $"an idle connection should be closed with FIN; the client saw {closed}");
    }
}
