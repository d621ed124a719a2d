using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// Clients the forwarder cannot serve: each is reset at once and counted, and the log says so once per listener and
/// minute instead of once per client. The minute runs on a FakeTimeProvider; the sockets are real.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderNoBackendsTests(ITestOutputHelper output)
{
    private const int NoBackendsId = 2007;
    private const int NoBackendAcceptedId = 2006;
    private const int ConnectFailedId = 2005;
    private const int RefusedId = 2013;
    private const int ConnectsFailedId = 2014;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task NoBackends_FiftyClientsAreResetAtOnceWithoutData_TheLogHasOneLine_AndBackendsThatComeBackServe(ForwardingEngine engine)
    {
        const int Clients = 50;
        var time = new FakeTimeProvider();
        var log = new RecordingLoggerFactory(output);
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output, time: time, loggerFactory: log);
        var binding = LoopbackAddresses.NextListenerBinding();
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, []));

        for (var i = 0; i < Clients; i++)
        {
            var closed = await TestSockets.ConnectAndWaitForCloseAsync(binding, TimeSpan.FromSeconds(5), $"client {i} of a listener without backends");
            Assert.True(closed.Kind == CloseKind.Reset, $"client {i} should be reset; it saw {closed}");
            Assert.Equal(0, closed.BytesBeforeClose);
            Assert.True(closed.After < TimeSpan.FromSeconds(2), $"client {i} should be reset at once; it saw {closed}");
        }

        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Listener.ConnectionsFailed == Clients,
            $"{Clients} refused clients counted as failed");
        var listener = forwarder.Statistics(binding).Listener;
        Assert.Equal(0, listener.ConnectionsOpened);
        Assert.Equal(0, listener.ConnectionsActive);
        Assert.Equal(0, listener.ConnectionsRejected);

        var line = Assert.Single(log.WithId(NoBackendsId));
        Assert.Equal($"Listener {binding} (default/web) has no backends; refusing connections with a reset (further refusals are counted for 60 s)", line.Message);
        Assert.Empty(log.WithId(RefusedId));
        Assert.Empty(log.WithId(NoBackendAcceptedId));

        time.Advance(Window);
        var summary = Assert.Single(log.WithId(RefusedId));
        Assert.Equal($"refused {Clients - 1} connections to {binding} (default/web) in the last 60 s: no backends", summary.Message);

        // The IP:port stayed bound throughout: a backend arriving is used by the next client.
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [echo.Endpoint]));
        using var client = await TestSockets.ConnectAsync(binding);
        await client.EchoAsync("served again"u8.ToArray());
        Assert.Single(log.WithId(NoBackendsId));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task EveryBackendRefuses_TwentyClients_GiveOneLinePerBackendAndOneForTheListener_ThenASummaryEach(ForwardingEngine engine)
    {
        const int Clients = 20;
        var time = new FakeTimeProvider();
        var log = new RecordingLoggerFactory(output);
        using var first = new RefusingPort();
        using var second = new RefusingPort();
        await using var forwarder = TestForwarders.Create(engine, output, time: time, loggerFactory: log);
        var binding = await forwarder.ListenAsync(first.Endpoint, second.Endpoint);

        for (var i = 0; i < Clients; i++)
        {
            var closed = await TestSockets.ConnectAndWaitForCloseAsync(binding, TimeSpan.FromSeconds(5), $"client {i} of a listener whose backends refuse");
            Assert.True(closed.Kind == CloseKind.Reset, $"client {i} should be reset; it saw {closed}");
            Assert.Equal(0, closed.BytesBeforeClose);
        }

        // Every client tried both backends (ejected ones too: there is no other), so 40 connects failed.
        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Listener.ConnectionsFailed == Clients
                && statistics.Of(first.Endpoint).ConnectionsFailed == Clients
                && statistics.Of(second.Endpoint).ConnectionsFailed == Clients,
            "every client and both backends' connects counted as failed");
        Assert.Single(log.WithId(NoBackendAcceptedId));
        Assert.Equal(2, log.WithId(ConnectFailedId).Count);
        Assert.Empty(log.WithId(RefusedId));
        Assert.Empty(log.WithId(ConnectsFailedId));

        time.Advance(Window);
        var summary = Assert.Single(log.WithId(RefusedId));
        Assert.Equal($"refused {Clients - 1} connections to {binding} (default/web) in the last 60 s: no backend accepted the connection", summary.Message);
        string[] expected =
        [
            $"{Clients - 1} more connects from {binding} (default/web) to backend {first.EndPoint} failed in the last 60 s",
            $"{Clients - 1} more connects from {binding} (default/web) to backend {second.EndPoint} failed in the last 60 s",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), log.WithId(ConnectsFailedId).Select(entry => entry.Message).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task NoBackends_ResetsWithoutConnectionState_SoManyClientsAtOnceLeaveNothingOpen(ForwardingEngine engine)
    {
        const int Clients = 200;
        var log = new RecordingLoggerFactory(output);
        await using var forwarder = TestForwarders.Create(engine, output, loggerFactory: log);
        var binding = LoopbackAddresses.NextListenerBinding();
        await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, []));

        using var running = new SemaphoreSlim(50);
        var outcomes = await Bounded.WithinAsync(
            Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
            {
                await running.WaitAsync();
                try
                {
                    return await TestSockets.ConnectAndWaitForCloseAsync(binding, TimeSpan.FromSeconds(5), $"client {i}");
                }
                finally
                {
                    running.Release();
                }
            })),
            TimeSpan.FromSeconds(20),
            $"{Clients} clients at once to be reset");

        Assert.All(outcomes, closed => Assert.True(closed.Kind == CloseKind.Reset && closed.BytesBeforeClose == 0, $"a client saw {closed}"));
        await forwarder.WaitForStatisticsAsync(binding, statistics => statistics.Listener.ConnectionsFailed == Clients, $"{Clients} refusals counted");
        Assert.Equal(0, forwarder.Statistics(binding).Listener.ConnectionsActive);
        Assert.Single(log.WithId(NoBackendsId));
        Assert.Empty(log.WithId(RefusedId));
    }
}
