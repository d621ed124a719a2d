using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>Reaching a backend: a refused or silent backend costs the client a retry on another, not its connection.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderConnectTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task BackendRefuses_EveryConnectionIsRetriedOnTheLiveBackend(ForwardingEngine engine)
    {
        const int Connections = 10;
        using var dead = new RefusingPort();
        await using var live = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(dead.Endpoint, live.Endpoint);

        for (var i = 0; i < Connections; i++)
        {
            using var client = await TestSockets.ConnectAsync(binding);
            await client.EchoAsync(Encoding.ASCII.GetBytes($"connection {i}"));
        }

        Assert.Equal(Connections, live.Accepted);
        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Of(dead.Endpoint).ConnectionsFailed >= 1 && statistics.Of(live.Endpoint).ConnectionsOpened == Connections,
            "the refused backend shows failed connects and the live one all connections");
        var listener = forwarder.Statistics(binding).Listener;
        Assert.Equal(0, listener.ConnectionsFailed);
        Assert.Equal(Connections, listener.ConnectionsOpened);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task EveryBackendRefuses_ClientIsClosedPromptlyAndTheFailureCounted(ForwardingEngine engine)
    {
        using var first = new RefusingPort();
        using var second = new RefusingPort();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(first.Endpoint, second.Endpoint);

        var closed = await TestSockets.ConnectAndWaitForCloseAsync(binding, TimeSpan.FromSeconds(3), "the client of a listener whose backends all refuse");
        output.WriteLine($"{engine}: client saw {closed}");

        Assert.True(closed.After < TimeSpan.FromSeconds(2), $"the client should be closed promptly; it saw {closed}");
        Assert.Equal(0, closed.BytesBeforeClose);
        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Listener.ConnectionsFailed == 1 && statistics.Listener.ConnectionsActive == 0,
            "the listener counts one failed connection and none active");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task BackendDropsSyns_ConnectTimesOutAndTheLiveBackendServesWithinTwoSeconds(ForwardingEngine engine)
    {
        const int Connections = 4;
        using var blackhole = await BlackholeBackend.StartAsync();
        await using var live = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { ConnectTimeout = TimeSpan.FromMilliseconds(300) });
        var binding = await forwarder.ListenAsync(blackhole.Endpoint, live.Endpoint);

        var timings = new List<TimeSpan>();
        for (var i = 0; i < Connections; i++)
        {
            var watch = Stopwatch.StartNew();
            using var client = await TestSockets.ConnectAsync(binding);
            await client.EchoAsync(Encoding.ASCII.GetBytes($"connection {i}"));
            timings.Add(watch.Elapsed);
        }

        output.WriteLine($"{engine}: connect+echo took {string.Join(", ", timings.Select(t => $"{t.TotalMilliseconds:F0} ms"))}");
        Assert.All(timings, elapsed => Assert.True(elapsed < TimeSpan.FromSeconds(2), $"a connection took {elapsed.TotalMilliseconds:F0} ms"));
        Assert.Equal(Connections, live.Accepted);
        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Of(blackhole.Endpoint).ConnectionsFailed >= 1,
            "the blackholed backend shows a failed (timed-out) connect");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ConnectTimeout_RunsOnTheForwardersClock_TheClientIsResetWhenItPassesAndNotBefore(ForwardingEngine engine)
    {
        // Ten seconds of the forwarder's clock, which the test moves; the client is reset in real milliseconds once the
        // clock passes it. One event loop, so an echo through a second listener shows the loop has seen the new time.
        var connectTimeout = TimeSpan.FromSeconds(10);
        var time = new ObservableTimeProvider();
        using var blackhole = await BlackholeBackend.StartAsync();
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(
            engine, output, options => options with { ConnectTimeout = connectTimeout, MaxConnectAttempts = 1, EventLoops = 1 }, time);
        var silent = await forwarder.ListenAsync(blackhole.Endpoint);
        using var barrier = await TestSockets.ConnectAsync(await forwarder.ListenAsync(echo.Endpoint));
        await barrier.EchoAsync("barrier"u8.ToArray());

        using var client = await TestSockets.ConnectAsync(silent);
        await forwarder.WaitForStatisticsAsync(silent, statistics => statistics.Listener.ConnectionsActive == 1, "the client accepted (its connect to the backend hangs)");
        if (engine == ForwardingEngine.Copy)
        {
            // The copy engine's timeout is a timer of the clock: moving the clock before it exists would not fire it.
            await time.WaitForTimerAsync(connectTimeout, "the connect's timeout");
        }

        time.Advance(connectTimeout - TimeSpan.FromMilliseconds(1));
        await barrier.EchoAsync("barrier"u8.ToArray());
        Assert.False(client.Poll(0, SelectMode.SelectRead), "the client was closed before the connect timeout passed");
        Assert.Equal(0, forwarder.Statistics(silent).Listener.ConnectionsFailed);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(5), "the client once its backend's connect timed out");
        output.WriteLine($"{engine}: the client saw {closed}");
        Assert.True(closed.Kind == CloseKind.Reset, $"the client should be reset when no backend answers; it saw {closed}");
        await forwarder.WaitForStatisticsAsync(
            silent,
            statistics => statistics.Listener.ConnectionsFailed == 1 && statistics.Of(blackhole.Endpoint).ConnectionsFailed == 1,
            "the timed-out connect and the client counted as failed");
    }
}
