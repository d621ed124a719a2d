using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Listeners;

/// <summary>How a listener logs and counts the clients it cannot forward: one line per listener and window, every client counted.</summary>
public sealed class ListenerContextTests
{
    private const int NoBackendsId = 2007;
    private const int NoBackendAcceptedId = 2006;
    private const int ConnectFailedId = 2005;
    private const int RefusedId = 2013;
    private const int ConnectsFailedId = 2014;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly FakeTimeProvider _time = new();
    private readonly CapturingLogger<ListenerContextTests> _logger = new();

    [Fact]
    public void RefusedWithoutBackends_FirstIsAWarningAtOnce_TheRestAreCountedAndSummedUpAfterTheWindow()
    {
        var context = Create("127.0.100.1", 8080);

        context.RefusedWithoutBackends();
        var first = Assert.Single(_logger.Entries);
        Assert.Equal(NoBackendsId, first.EventId.Id);
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Equal("Listener 127.0.100.1:8080 (default/web) has no backends; refusing connections with a reset (further refusals are counted for 60 s)", first.Message);

        for (var i = 0; i < 33; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            context.RefusedWithoutBackends();
        }

        _time.Advance(Window - TimeSpan.FromSeconds(33) - TimeSpan.FromMilliseconds(1));
        Assert.Single(_logger.Entries);
        Assert.Equal(34, context.Counters.Snapshot().ConnectionsFailed);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, _logger.Entries.Count);
        var summary = _logger.Entries[1];
        Assert.Equal(RefusedId, summary.EventId.Id);
        Assert.Equal(LogLevel.Warning, summary.Level);
        Assert.Equal("refused 33 connections to 127.0.100.1:8080 (default/web) in the last 60 s: no backends", summary.Message);
    }

    [Fact]
    public void RefusedWithoutBackends_CountsFailedButNeitherOpenedNorActive()
    {
        var context = Create("127.0.100.1", 8080);

        context.RefusedWithoutBackends();
        context.RefusedWithoutBackends();

        var counters = context.Counters.Snapshot();
        Assert.Equal(2, counters.ConnectionsFailed);
        Assert.Equal(0, counters.ConnectionsOpened);
        Assert.Equal(0, counters.ConnectionsActive);
        Assert.Equal(0, counters.ConnectionsRejected);
    }

    [Fact]
    public void RefusedWithoutBackends_TwoListeners_EachLogsItsOwnFirstLineCountAndWindow()
    {
        var first = Create("127.0.100.1", 8080);
        var second = Create("127.0.100.2", 8080);

        first.RefusedWithoutBackends();
        Refuse(first, 5);

        // The second's first refusal is logged although the first listener's window is running; its window starts now.
        _time.Advance(TimeSpan.FromSeconds(30));
        second.RefusedWithoutBackends();
        Refuse(second, 2);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(
            [
                "Listener 127.0.100.1:8080 (default/web) has no backends; refusing connections with a reset (further refusals are counted for 60 s)",
                "Listener 127.0.100.2:8080 (default/web) has no backends; refusing connections with a reset (further refusals are counted for 60 s)",
                "refused 5 connections to 127.0.100.1:8080 (default/web) in the last 60 s: no backends",
            ],
            _logger.Entries.Select(entry => entry.Message));

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("refused 2 connections to 127.0.100.2:8080 (default/web) in the last 60 s: no backends", _logger.Entries[^1].Message);
        Assert.Equal(4, _logger.Entries.Count);
    }

    [Fact]
    public void RefusedWithoutBackends_AfterAQuietWindow_LogsAtOnceAgain()
    {
        var context = Create("127.0.100.1", 8080);
        context.RefusedWithoutBackends();
        context.RefusedWithoutBackends();
        _time.Advance(Window);
        _time.Advance(Window);

        context.RefusedWithoutBackends();

        Assert.Equal([NoBackendsId, RefusedId, NoBackendsId], _logger.Entries.Select(entry => entry.EventId.Id));
    }

    [Fact]
    public void NoBackendConnected_IsRateLimitedTheSameWay_WithItsOwnReason()
    {
        var context = Create("127.0.100.1", 8080);

        for (var i = 0; i < 1000; i++)
        {
            context.NoBackendConnected(attempts: 2);
        }

        _time.Advance(Window);

        Assert.Equal(
            [
                "No backend of 127.0.100.1:8080 (default/web) accepted the connection after 2 attempts; resetting the client (further such clients are counted for 60 s)",
                "refused 999 connections to 127.0.100.1:8080 (default/web) in the last 60 s: no backend accepted the connection",
            ],
            _logger.Entries.Select(entry => entry.Message));
        Assert.Equal([NoBackendAcceptedId, RefusedId], _logger.Entries.Select(entry => entry.EventId.Id));
        Assert.Equal(1000, context.Counters.Snapshot().ConnectionsFailed);
    }

    [Fact]
    public void ConnectFailed_IsRateLimitedPerBackend_AndStillCountsAndEjectsEveryFailure()
    {
        var context = Create("127.0.100.1", 8080);
        var first = Backend(context, "10.0.0.1");
        var second = Backend(context, "10.0.0.2");

        for (var i = 0; i < 10; i++)
        {
            context.ConnectFailed(first, "Connection refused");
        }

        context.ConnectFailed(second, "Connection timed out");
        _time.Advance(Window);

        Assert.Equal(
            [
                "Connect from 127.0.100.1:8080 (default/web) to backend 10.0.0.1:8080 failed: Connection refused (further failures of this backend are counted for 60 s)",
                "Connect from 127.0.100.1:8080 (default/web) to backend 10.0.0.2:8080 failed: Connection timed out (further failures of this backend are counted for 60 s)",
                "9 more connects from 127.0.100.1:8080 (default/web) to backend 10.0.0.1:8080 failed in the last 60 s",
            ],
            _logger.Entries.Select(entry => entry.Message));
        Assert.Equal([ConnectFailedId, ConnectFailedId, ConnectsFailedId], _logger.Entries.Select(entry => entry.EventId.Id));
        Assert.Equal(10, first.Counters.Snapshot().ConnectionsFailed);
        Assert.True(first.Health.IsEjected);
    }

    [Fact]
    public void FlushLogs_ReportsWhatIsCountedAtOnce()
    {
        var context = Create("127.0.100.1", 8080);
        var backend = Backend(context, "10.0.0.1");
        context.RefusedWithoutBackends();
        context.RefusedWithoutBackends();
        context.ConnectFailed(backend, "Connection refused");
        context.ConnectFailed(backend, "Connection refused");
        _time.Advance(TimeSpan.FromSeconds(20));

        context.FlushLogs([backend]);

        Assert.Equal(
            [
                "refused 1 connections to 127.0.100.1:8080 (default/web) in the last 20 s: no backends",
                "1 more connects from 127.0.100.1:8080 (default/web) to backend 10.0.0.1:8080 failed in the last 20 s",
            ],
            _logger.Entries.Skip(2).Select(entry => entry.Message));
    }

    [Fact]
    public async Task AllClosedAsync_CompletesWhenTheLastConnectionCloses()
    {
        var context = Create("127.0.100.1", 8080);
        Assert.True(context.TryAdmit(context.Route));
        Assert.True(context.TryAdmit(context.Route));

        var allClosed = context.AllClosedAsync();
        context.ConnectionClosed();
        Assert.False(allClosed.IsCompleted);
        context.ConnectionClosed();

        await allClosed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(context.AllClosedAsync().IsCompleted);
    }

    private static void Refuse(ListenerContext context, int times)
    {
        for (var i = 0; i < times; i++)
        {
            context.RefusedWithoutBackends();
        }
    }

    private ListenerContext Create(string ip, int port)
    {
        var binding = new PortBinding(IPAddress.Parse(ip), ServicePort.Tcp(port));
        return new ListenerContext(binding, $"{binding} (default/web)", new ListenerRoute(BackendSnapshot.Empty, new RoundRobinPolicy(), null),
            new ForwarderOptions(), _time, _logger);
    }

    private BackendState Backend(ListenerContext context, string address)
    {
        var backend = TestBackends.Create(address, time: _time);
        return new BackendState(backend.Endpoint, backend.Health) { ConnectFailureLog = context.NewConnectFailureLog(backend.EndPoint) };
    }
}
