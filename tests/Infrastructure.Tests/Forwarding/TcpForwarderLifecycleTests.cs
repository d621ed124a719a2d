using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>Starting, refusing to start, stopping and disposing listeners.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderLifecycleTests(ITestOutputHelper output)
{
    private static readonly byte[] Chunk = new SeededBytes(31).Next(64 * 1024);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Apply_NewBinding_ListensIsListedAndForwards(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);

        var binding = await forwarder.ListenAsync(echo.Endpoint);

        Assert.Equal([binding], forwarder.Listeners);
        using var client = await TestSockets.ConnectAsync(binding);
        await client.EchoAsync(Chunk);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Apply_UnknownPolicy_FailsNamingThePolicyAndListensNowhere(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = LoopbackAddresses.NextListenerBinding();

        var result = await forwarder.ApplyWithinLimitAsync(TestForwarders.Spec(binding, [echo.Endpoint], policy: "fastest-first"));

        Assert.False(result.Succeeded);
        Assert.Contains("fastest-first", result.Error, StringComparison.Ordinal);
        Assert.Empty(forwarder.Listeners);
        Assert.Null(forwarder.GetStatistics(binding));
        Assert.Equal(SocketError.ConnectionRefused, await TestSockets.TryConnectAsync(binding.ToIPEndPoint(), TimeSpan.FromSeconds(2)));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Apply_UdpPortTakenByAnotherSocket_FailsAndRegistersNothing(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var ip = LoopbackAddresses.NextListenerAddress();
        using var taken = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        taken.Bind(new System.Net.IPEndPoint(ip, 0));
        var binding = new PortBinding(ip, ServicePort.Udp(((System.Net.IPEndPoint)taken.LocalEndPoint!).Port));

        var result = await forwarder.ApplyWithinLimitAsync(TestForwarders.Spec(binding, [echo.Endpoint]));

        output.WriteLine($"{engine}: {result.Error}");
        Assert.False(result.Succeeded);
        Assert.StartsWith($"cannot listen on {binding}:", result.Error, StringComparison.Ordinal);
        Assert.Empty(forwarder.Listeners);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Apply_AddressAlreadyInUse_FailsClearlyRegistersNothingAndSucceedsOnceFreed(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = LoopbackAddresses.NextListenerBinding();
        var spec = TestForwarders.Spec(binding, [echo.Endpoint]);

        using (var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            squatter.Bind(binding.ToIPEndPoint());
            squatter.Listen();

            var result = await forwarder.ApplyWithinLimitAsync(spec);

            output.WriteLine($"{engine}: {result.Error}");
            Assert.False(result.Succeeded);
            Assert.Contains(binding.Port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Error, StringComparison.Ordinal);
            Assert.Empty(forwarder.Listeners);
            Assert.Null(forwarder.GetStatistics(binding));
        }

        // Nothing half-registered is left behind: once the port is free, the same spec starts a listener.
        await forwarder.ApplySucceedsAsync(spec);
        using var client = await TestSockets.ConnectAsync(binding);
        await client.EchoAsync(Chunk);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Stop_ConnectionMidTransfer_FinishesItsExchangeWhileNewConnectsAreRefused(ForwardingEngine engine)
    {
        var drain = TimeSpan.FromSeconds(2);
        var log = new RecordingLoggerFactory(output);
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, loggerFactory: log);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var client = await TestSockets.ConnectAsync(binding);
        for (var i = 0; i < 3; i++)
        {
            await client.EchoAsync(Chunk);
        }

        var watch = Stopwatch.StartNew();
        var stopping = forwarder.StopAsync(binding, drain, CancellationToken.None).AsTask();
        var refusedAfter = await WaitUntilRefusedAsync(binding, TimeSpan.FromSeconds(1));
        output.WriteLine($"{engine}: new connects refused {refusedAfter.TotalMilliseconds:F0} ms after StopAsync began");

        for (var i = 0; i < 5; i++)
        {
            await client.EchoAsync(Chunk);
        }

        client.Shutdown(SocketShutdown.Send);
        var closed = await client.WaitForCloseAsync(drain, "the draining connection after its FIN");
        Assert.Equal(CloseKind.Eof, closed.Kind);
        await Bounded.WithinAsync(stopping, drain + TimeSpan.FromSeconds(1), "StopAsync after its last connection finished");
        output.WriteLine($"{engine}: StopAsync returned after {watch.Elapsed.TotalMilliseconds:F0} ms");

        Assert.True(watch.Elapsed < drain, $"StopAsync should return when its last connection ends, not wait out the {drain.TotalSeconds} s deadline; took {watch.Elapsed.TotalMilliseconds:F0} ms");
        Assert.DoesNotContain(binding, forwarder.Listeners);

        // Nothing was cut, so nothing claims a connection was open at the deadline. (A probe of WaitUntilRefusedAsync
        // may have been accepted just before the stop, and then finishes during the drain too.)
        Assert.Empty(log.WithId(2004));
        var stopped = Assert.Single(log.WithId(2030));
        Assert.Matches($@"^Stopped {Regex.Escape(binding.ToString())} \(default/web\): drained, all [12] open connections finished, none was cut$", stopped.Message);
    }

    [Fact]
    public async Task Stop_NoConnectionOpen_SaysSo_AndNotThatAnyWasCut()
    {
        var log = new RecordingLoggerFactory(output);
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Copy, output, loggerFactory: log);
        var binding = await forwarder.ListenAsync(echo.Endpoint);

        await Bounded.WithinAsync(forwarder.StopAsync(binding, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask(), TimeSpan.FromSeconds(5), "StopAsync");

        Assert.Empty(log.WithId(2004));
        Assert.Empty(log.WithId(2030));
        Assert.Equal($"Stopped {binding} (default/web): no connection was open", Assert.Single(log.WithId(2031)).Message);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Detach_FreesTheBindingAtOnce_WhileTheOpenConnectionDrainsUntilItsDeadline(ForwardingEngine engine)
    {
        // The deadline is a timer of the forwarder's clock, which the test moves; detaching and serving are real.
        var drain = TimeSpan.FromSeconds(30);
        var time = new ObservableTimeProvider();
        await using var first = LoopbackServer.StartEcho();
        await using var second = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, time: time);
        var binding = await forwarder.ListenAsync(first.Endpoint);
        using var lingering = await TestSockets.ConnectAsync(binding);
        await lingering.EchoAsync(Chunk);

        var watch = Stopwatch.StartNew();
        var draining = await Bounded.WithinAsync(forwarder.DetachAsync(binding, drain, CancellationToken.None).AsTask(), TimeSpan.FromSeconds(1), "DetachAsync");
        var detachedAfter = watch.Elapsed;

        // The IP:port is free for a new listener (another Service) while the old connection still works.
        Assert.False(draining.IsCompleted);
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [second.Endpoint]));
        await lingering.EchoAsync(Chunk);
        using (var fresh = await TestSockets.ConnectAsync(binding))
        {
            await fresh.EchoAsync(Chunk);
        }

        Assert.Equal(1, first.Accepted);
        Assert.Equal(1, second.Accepted);

        await time.WaitForTimerAsync(drain, "the drain's deadline");
        time.Advance(drain - TimeSpan.FromMilliseconds(1));
        await lingering.EchoAsync(Chunk);
        Assert.False(draining.IsCompleted, "the drain ended before its deadline");

        time.Advance(TimeSpan.FromMilliseconds(1));
        await Bounded.WithinAsync(draining, TimeSpan.FromSeconds(5), "the drain of the detached listener once its deadline passed");
        var closed = await lingering.WaitForCloseAsync(TimeSpan.FromSeconds(1), "the lingering client after the drain");
        output.WriteLine($"{engine}: detached in {detachedAfter.TotalMilliseconds:F0} ms; the client saw {closed}");

        Assert.True(detachedAfter < TimeSpan.FromMilliseconds(500), $"detaching took {detachedAfter.TotalMilliseconds:F0} ms");
        Assert.True(closed.Kind is CloseKind.Eof or CloseKind.Reset, $"the lingering client should be closed at the deadline; it saw {closed}");
        Assert.Equal([binding], forwarder.Listeners);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Stop_ConnectionStillOpenAtTheDeadline_IsClosedAndStopReturnsSoonAfter(ForwardingEngine engine)
    {
        var drain = TimeSpan.FromSeconds(30);
        var time = new ObservableTimeProvider();
        var log = new RecordingLoggerFactory(output);
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, time: time, loggerFactory: log);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var client = await TestSockets.ConnectAsync(binding);
        await client.EchoAsync(Chunk);

        var stopping = forwarder.StopAsync(binding, drain, CancellationToken.None).AsTask();

        await time.WaitForTimerAsync(drain, "the drain's deadline");
        time.Advance(drain - TimeSpan.FromMilliseconds(1));
        await client.EchoAsync(Chunk);
        Assert.False(stopping.IsCompleted, "StopAsync returned before the drain deadline with a connection open");

        time.Advance(TimeSpan.FromMilliseconds(1));
        var watch = Stopwatch.StartNew();
        await Bounded.WithinAsync(stopping, TimeSpan.FromSeconds(5), "StopAsync once its deadline passed");
        var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(1), "the lingering client after StopAsync returned");
        output.WriteLine($"{engine}: StopAsync returned {watch.Elapsed.TotalMilliseconds:F0} ms after the deadline passed; the client saw {closed}");

        Assert.True(closed.Kind is CloseKind.Eof or CloseKind.Reset, $"the client should be closed; it saw {closed}");
        await Bounded.UntilAsync(() => echo.Open == 0, TimeSpan.FromSeconds(2), "the backend's side of the lingering connection to close", echo.ToString);
        Assert.DoesNotContain(binding, forwarder.Listeners);
        Assert.Equal(
            $"Stopped {binding} (default/web): 1 connections were still open at the 00:00:30 deadline and were cut (0 finished during the drain)",
            Assert.Single(log.WithId(2004)).Message);
        Assert.Empty(log.WithId(2030));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Stop_AtTheDeadline_ClosesWithFinNotReset(ForwardingEngine engine)
    {
        var drain = TimeSpan.FromSeconds(30);
        var time = new ObservableTimeProvider();
        var log = new RecordingLoggerFactory(output);
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, time: time, loggerFactory: log);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        using var client = await TestSockets.ConnectAsync(binding);
        await client.EchoAsync(Chunk);

        var stopping = forwarder.StopAsync(binding, drain, CancellationToken.None).AsTask();

        await time.WaitForTimerAsync(drain, "the drain's deadline");
        time.Advance(drain);
        await Bounded.WithinAsync(stopping, TimeSpan.FromSeconds(5), "StopAsync");
        var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(1), "the client after StopAsync's deadline");

        // The drain ran out, nothing failed: both engines mean to close what is left gracefully (reset: false).
        Assert.True(closed.Kind == CloseKind.Eof, $"a connection closed at the end of a drain should get FIN; the client saw {closed}");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Stop_ConnectionStillConnectingToASilentBackend_IsClosedAtTheDeadline(ForwardingEngine engine)
    {
        // On the forwarder's clock the drain ends before the connect's timeout: the drain, not the timeout, closes it.
        var drain = TimeSpan.FromSeconds(2);
        var time = new ObservableTimeProvider();
        using var blackhole = await BlackholeBackend.StartAsync();
        await using var forwarder = TestForwarders.Create(engine, output, options => options with { ConnectTimeout = TimeSpan.FromSeconds(5) }, time);
        var binding = await forwarder.ListenAsync(blackhole.Endpoint);
        using var client = await TestSockets.ConnectAsync(binding);
        await forwarder.WaitForStatisticsAsync(binding, statistics => statistics.Listener.ConnectionsActive == 1, "the client is accepted (its connect to the backend hangs)");

        var stopping = forwarder.StopAsync(binding, drain, CancellationToken.None).AsTask();
        await time.WaitForTimerAsync(drain, "the drain's deadline");
        Assert.False(stopping.IsCompleted, "StopAsync returned before the drain deadline with a connection still connecting");
        time.Advance(drain);
        await Bounded.WithinAsync(stopping, TimeSpan.FromSeconds(5), "StopAsync once its deadline passed");
        var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(2), "the client after StopAsync returned");
        output.WriteLine($"{engine}: the client saw {closed}");
        Assert.True(closed.Kind is CloseKind.Eof or CloseKind.Reset, $"the client should be closed; it saw {closed}");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task Dispose_ClosesListenersAndOpenConnections(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        var forwarder = TestForwarders.Create(engine, output);
        Socket? client = null;
        try
        {
            PortBinding binding;
            try
            {
                binding = await forwarder.ListenAsync(echo.Endpoint);
                client = await TestSockets.ConnectAsync(binding);
                await client.EchoAsync(Chunk);
            }
            finally
            {
                await Bounded.WithinAsync(forwarder.DisposeAsync(), TimeSpan.FromSeconds(5), "DisposeAsync");
            }

            var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(2), "the client after DisposeAsync");
            Assert.True(closed.Kind is CloseKind.Eof or CloseKind.Reset, $"the client should be closed; it saw {closed}");
            Assert.Equal(SocketError.ConnectionRefused, await TestSockets.TryConnectAsync(binding.ToIPEndPoint(), TimeSpan.FromSeconds(2)));
            await Bounded.UntilAsync(() => echo.Open == 0, TimeSpan.FromSeconds(2), "the backend's side to close", echo.ToString);
        }
        finally
        {
            client?.Dispose();
        }
    }

    /// <summary>Connects until the listener refuses; a connect that still gets in is closed at once and retried.</summary>
    private static async Task<TimeSpan> WaitUntilRefusedAsync(PortBinding binding, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        var seen = new List<string>();
        while (watch.Elapsed < limit)
        {
            var error = await TestSockets.TryConnectAsync(binding.ToIPEndPoint(), TimeSpan.FromMilliseconds(500));
            if (error == SocketError.ConnectionRefused)
            {
                return watch.Elapsed;
            }

            seen.Add(error?.ToString() ?? "connected");
            await Task.Delay(20);
        }

        Assert.Fail($"connects to {binding} were not refused within {limit.TotalMilliseconds:F0} ms after StopAsync began; saw {string.Join(", ", seen)}");
        return limit;
    }
}
