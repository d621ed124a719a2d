using System.Net.Sockets;
using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>The limits a listener puts on its connections: how many at once, and how long one may sit idle.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderLimitsTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
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
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task IdleTimeout_IdleConnectionIsClosedAndABusyOneIsNot(ForwardingEngine engine)
    {
        // The timeout runs on the forwarder's clock, which the test moves: the busy connection echoes every 20 s of it,
        // the idle one never, across five minutes of a one-minute timeout. One event loop, so that an echo on the busy
        // connection shows the loop has seen the new time and run its timers before the idle one is looked at.
        var idleTimeout = TimeSpan.FromMinutes(1);
        var step = TimeSpan.FromSeconds(20);
        var time = new FakeTimeProvider();
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { IdleTimeout = idleTimeout, EventLoops = 1 }, time);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var idle = await TestSockets.ConnectAsync(binding);
        using var busy = await TestSockets.ConnectAsync(binding);
        await busy.EchoAsync("busy"u8.ToArray());
        await idle.EchoAsync("idle"u8.ToArray());

        for (var elapsed = step; elapsed < idleTimeout; elapsed += step)
        {
            time.Advance(step);
            await busy.EchoAsync(Encoding.ASCII.GetBytes($"tick at {elapsed}"));
            Assert.False(HasEnded(idle), $"{engine}: the idle connection was closed after {elapsed} of a {idleTimeout} idle timeout");
        }

        time.Advance(step);
        var closed = await idle.WaitForCloseAsync(TimeSpan.FromSeconds(5), "the idle connection to be closed once its timeout has passed");
        output.WriteLine($"{engine}: the idle connection saw {closed}");
        Assert.True(closed.Kind is CloseKind.Eof or CloseKind.Reset, $"the idle connection should be closed; it saw {closed}");

        for (var elapsed = idleTimeout + step; elapsed <= TimeSpan.FromMinutes(5); elapsed += step)
        {
            time.Advance(step);
            await busy.EchoAsync(Encoding.ASCII.GetBytes($"tick at {elapsed}"));
        }

        await forwarder.WaitForStatisticsAsync(binding, statistics => statistics.Listener.ConnectionsActive == 1, "only the busy connection open");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task IdleTimeout_ClosesWithFinNotReset(ForwardingEngine engine)
    {
        var idleTimeout = TimeSpan.FromMinutes(1);
        var time = new FakeTimeProvider();
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { IdleTimeout = idleTimeout }, time);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var idle = await TestSockets.ConnectAsync(binding);
        await idle.EchoAsync("idle"u8.ToArray());

        time.Advance(idleTimeout);
        var closed = await idle.WaitForCloseAsync(TimeSpan.FromSeconds(5), "the idle connection to be closed");

        // Nothing went wrong on an idle connection: both engines mean to close it gracefully (reset: false).
        Assert.True(closed.Kind == CloseKind.Eof, $"an idle connection should be closed with FIN; the client saw {closed}");
    }

    /// <summary>Readable with nothing to read: the peer closed or reset it. The caller has read everything sent before.</summary>
    private static bool HasEnded(Socket socket) => socket.Poll(0, SelectMode.SelectRead);
}
