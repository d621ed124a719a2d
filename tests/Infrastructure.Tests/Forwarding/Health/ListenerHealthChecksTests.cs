using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Health;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Health;

/// <summary>
/// A listener's checks through the forwarder's <see cref="HealthCheckRegistry"/>. Rounds, timeouts and thresholds run on
/// a fake clock that the tests move; the probes of the TCP and HTTP tests are real connects to loopback servers, and
/// only those are waited for in real time. Unhealthy targets are probed at the usual interval here (factor 1), so
/// that every round is one interval; <see cref="HealthCheckRegistryTests"/> covers the longer one.
/// </summary>
public sealed class ListenerHealthChecksTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    // Longer than Patience: a round or a timeout that ran on the real clock would not come in time, and the test fails.
    private static readonly HealthCheckSettings Fast = new()
    {
        Interval = TimeSpan.FromSeconds(60),
        Timeout = TimeSpan.FromSeconds(20),
        HealthyThreshold = 2,
        UnhealthyThreshold = 3,
    };

    private readonly ObservableTimeProvider _time = new();
    private readonly CapturingLogger<HealthCheckRegistry> _logger = new();
    private readonly List<HealthCheckRegistry> _registries = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var registry in _registries)
        {
            await registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task TcpCheck_BackendStartsListening_BecomesHealthyAfterTheThresholdAndSaysSo()
    {
        var endpoint = ClosedPort();
        var backend = TestBackends.Create(endpoint, Fast);
        await using var checker = Checks(Fast);
        checker.SetBackends([backend]);
        await RoundsUntilAsync(Fast, () => !backend.Health.IsAvailable, "unhealthy while nothing listens");

        var server = new TcpListener(endpoint);
        server.Start();
        try
        {
            await RoundsUntilAsync(Fast, () => backend.Health.IsAvailable, "healthy once it listens");
            var line = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 2102);
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Equal($"health check target {endpoint} is healthy again after 2 passed tcp checks; 1 listeners use it, first default/web:80", line.Message);
        }
        finally
        {
            server.Stop();
        }
    }

    [Fact]
    public async Task TcpCheck_ClosedPort_BecomesUnhealthyAfterTheThresholdAndSaysSo()
    {
        var backend = TestBackends.Create(ClosedPort(), Fast);
        await using var checker = Checks(Fast);

        checker.SetBackends([backend]);

        await RoundsUntilAsync(Fast, () => !backend.Health.IsAvailable, "unhealthy");
        var line = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 2101);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal($"health check target {backend.EndPoint} is unhealthy after 3 failed tcp checks; 1 listeners use it, first default/web:80", line.Message);
        Assert.Equal(3, _logger.Entries.Count(entry => entry.EventId.Id == 2104));
    }

    [Fact]
    public async Task HttpCheck_Answers200_IsHealthyAndSendsAProperRequest()
    {
        await using var server = new LoopbackHttpServer("HTTP/1.1 200 OK");
        var settings = Fast with { Type = HealthCheckType.Http, Path = "/healthz?full=1" };
        var backend = UnhealthyBackend(server.EndPoint, settings);
        await using var checker = Checks(settings);

        checker.SetBackends([backend]);

        await RoundsUntilAsync(settings, () => backend.Health.IsAvailable, "healthy");
        Assert.True(server.Requests.TryPeek(out var request));
        var lines = request.Split("\r\n");
        Assert.Equal("GET /healthz?full=1 HTTP/1.1", lines[0]);
        Assert.Contains($"Host: {server.EndPoint}", lines);
        Assert.Contains("Connection: close", lines);
    }

    [Theory]
    [InlineData("HTTP/1.1 503 Service Unavailable")]
    [InlineData("HTTP/1.1 204 No Content")]
    [InlineData("HTTP/1.1 2000 OK")]
    [InlineData("SSH-2.0-OpenSSH_9.6")]
    public async Task HttpCheck_AnswersAnythingBut200_BecomesUnhealthy(string statusLine)
    {
        await using var server = new LoopbackHttpServer(statusLine);
        var settings = Fast with { Type = HealthCheckType.Http };
        var backend = TestBackends.Create(server.EndPoint, settings);
        await using var checker = Checks(settings);

        checker.SetBackends([backend]);

        await RoundsUntilAsync(settings, () => !backend.Health.IsAvailable, "unhealthy");
    }

    [Fact]
    public async Task HttpCheck_StatusChanges_HealthFollows()
    {
        await using var server = new LoopbackHttpServer("HTTP/1.1 503 Service Unavailable");
        var settings = Fast with { Type = HealthCheckType.Http };
        var backend = TestBackends.Create(server.EndPoint, settings);
        await using var checker = Checks(settings);
        checker.SetBackends([backend]);
        await RoundsUntilAsync(settings, () => !backend.Health.IsAvailable, "unhealthy");

        server.StatusLine = "HTTP/1.0 200 OK";

        await RoundsUntilAsync(settings, () => backend.Health.IsAvailable, "healthy again");
    }

    [Fact]
    public async Task HttpCheck_OnAHealthPort_FollowsThatPort_NotTheTrafficPort()
    {
        // kube-proxy's healthz for a Local Service: 503 while the node has no local endpoint, on its own port. The traffic
        // port answers 200 throughout, so a check that went there would keep the backend healthy.
        await using var traffic = new LoopbackHttpServer("HTTP/1.1 200 OK");
        await using var health = new LoopbackHttpServer("HTTP/1.1 503 Service Unavailable");
        var settings = Fast with { Type = HealthCheckType.Http, Path = "/healthz", Port = health.EndPoint.Port };
        var backend = TestBackends.Create(traffic.EndPoint, settings);
        await using var checker = Checks(settings);
        checker.SetBackends([backend]);

        await RoundsUntilAsync(settings, () => !backend.Health.IsAvailable, "unhealthy on the health port's 503");
        Assert.True(health.Requests.TryPeek(out var request));
        var lines = request.Split("\r\n");
        Assert.Equal("GET /healthz HTTP/1.1", lines[0]);
        Assert.Contains($"Host: {health.EndPoint}", lines);
        Assert.Empty(traffic.Requests);

        health.StatusLine = "HTTP/1.1 200 OK";

        await RoundsUntilAsync(settings, () => backend.Health.IsAvailable, "healthy again on the health port's 200");
        Assert.Empty(traffic.Requests);
    }

    [Fact]
    public async Task Probe_WithAHealthPort_IsGivenTheBackendsAddressOnThatPort()
    {
        var probe = new FakeProbe(passes: true);
        var settings = Fast with { Port = 10256 };
        await using var checker = Checks(settings, probe);

        checker.SetBackends([TestBackends.Create(new IPEndPoint(IPAddress.Parse("127.0.0.170"), 30080), settings)]);

        await UntilAsync(() => probe.Count == 1, "the backend probed");
        Assert.Equal([new IPEndPoint(IPAddress.Parse("127.0.0.170"), 10256)], probe.Probed);
    }

    [Fact]
    public async Task HttpCheck_ServerNeverAnswers_FailsWhenTheTimeoutPassesOnTheClock()
    {
        // Connections complete in the backlog, so the connect passes; the request is never read.
        var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        try
        {
            var settings = Fast with { Type = HealthCheckType.Http, UnhealthyThreshold = 2 };
            var backend = TestBackends.Create((IPEndPoint)server.LocalEndpoint, settings);
            await using var checker = Checks(settings);

            checker.SetBackends([backend]);

            for (var check = 1; check <= 2; check++)
            {
                await _time.WaitForTimerAsync(settings.Timeout, $"check {check} in flight");
                _time.Advance(settings.Timeout - TimeSpan.FromMilliseconds(1));
                await Task.Delay(50);
                Assert.Equal(check - 1, _logger.Entries.Count(entry => entry.EventId.Id == 2104));

                _time.Advance(TimeSpan.FromMilliseconds(1));
                await UntilAsync(() => _logger.Entries.Count(entry => entry.EventId.Id == 2104) == check, $"check {check} failed by its timeout");
                if (check == 1)
                {
                    Assert.True(backend.Health.IsAvailable);
                    await _time.WaitForTimerAsync(settings.Interval - settings.Timeout, "the next round");
                    _time.Advance(settings.Interval - settings.Timeout);
                }
            }

            await UntilAsync(() => !backend.Health.IsAvailable, "unhealthy after two timed-out checks");
        }
        finally
        {
            server.Stop();
        }
    }

    [Fact]
    public async Task Probe_NotAnsweringWithinTheTimeout_FailsExactlyWhenTheClockPassesIt()
    {
        var probe = new FakeProbe(async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return true;
        });
        var settings = Fast with { UnhealthyThreshold = 1 };
        var backend = TestBackends.Create(new IPEndPoint(IPAddress.Loopback, 1001), settings);
        await using var checker = Checks(settings, probe);
        checker.SetBackends([backend]);
        await _time.WaitForTimerAsync(settings.Timeout, "the probe in flight");

        _time.Advance(settings.Timeout - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.True(backend.Health.IsAvailable);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await UntilAsync(() => !backend.Health.IsAvailable, "unhealthy once the probe timed out");
    }

    [Fact]
    public async Task Probes_OfAllBackends_RunAtTheSameTime()
    {
        var inFlight = 0;
        var allInFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new FakeProbe(async (_, cancellationToken) =>
        {
            if (Interlocked.Increment(ref inFlight) == 3)
            {
                allInFlight.TrySetResult();
            }

            await allInFlight.Task.WaitAsync(cancellationToken);
            return true;
        });
        await using var checker = Checks(Fast, probe);

        checker.SetBackends(TestBackends.Many(3));

        await allInFlight.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Probes_RepeatEveryIntervalOfTheClock_AndNotBefore()
    {
        var probe = new FakeProbe(passes: true);
        var checker = Checks(Fast, probe);
        checker.SetBackends(TestBackends.Many(1));
        await UntilAsync(() => probe.Count == 1, "the new backend probed");

        for (var round = 2; round <= 6; round++)
        {
            await _time.WaitForTimerAsync(Fast.Interval, $"the checker waiting for round {round}");
            _time.Advance(Fast.Interval - TimeSpan.FromMilliseconds(1));
            Assert.Equal(round - 1, probe.Count);

            _time.Advance(TimeSpan.FromMilliseconds(1));
            await UntilAsync(() => probe.Count == round, $"round {round}");
        }

        await checker.DisposeAsync();
        Assert.Equal(6, probe.Count);
    }

    [Fact]
    public async Task SetBackends_NewBackend_IsProbedWithoutWaitingForTheInterval()
    {
        // The clock never moves here: every probe comes from an arrival, none from a round.
        var settings = Fast with { HealthyThreshold = 1 };
        var probe = new FakeProbe(passes: true);
        var first = UnhealthyBackend(new IPEndPoint(IPAddress.Loopback, 1001), settings);
        var second = UnhealthyBackend(new IPEndPoint(IPAddress.Loopback, 1002), settings);
        await using var checker = Checks(settings, probe);
        checker.SetBackends([first]);
        await UntilAsync(() => first.Health.IsAvailable, "the first backend healthy");

        checker.SetBackends([first, second]);

        await UntilAsync(() => second.Health.IsAvailable, "the second backend healthy");
        Assert.Equal([first.EndPoint, second.EndPoint], probe.Probed);
    }

    [Fact]
    public async Task SetBackends_RemovedBackend_IsNoLongerProbed()
    {
        var probe = new FakeProbe(passes: true);
        await using var checker = Checks(Fast, probe);
        checker.SetBackends(TestBackends.Many(1));
        await RoundsUntilAsync(Fast, () => probe.Count >= 2, "two probes");

        var registry = _registries.Single();
        Assert.Equal(1, registry.Count);

        checker.SetBackends([]);
        _time.Advance(Fast.Interval * 3);

        // Its only listener left, so the target's check stopped: nothing is waiting for a next round.
        Assert.Equal(0, registry.Count);
        Assert.Equal(2, probe.Count);
    }

    [Fact]
    public async Task DisposeAsync_ProbeInFlight_StopsPromptlyAndReportsNothing()
    {
        var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        try
        {
            var settings = Fast with { Type = HealthCheckType.Http, UnhealthyThreshold = 1 };
            var backend = TestBackends.Create((IPEndPoint)server.LocalEndpoint, settings);
            var checker = Checks(settings);
            checker.SetBackends([backend]);
            await _time.WaitForTimerAsync(settings.Timeout, "the probe in flight");

            var stopping = Stopwatch.StartNew();
            await checker.DisposeAsync();

            Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
            Assert.True(backend.Health.IsAvailable);
        }
        finally
        {
            server.Stop();
        }
    }

    [Fact]
    public async Task Probe_Throws_CountsAsFailedAndChecksGoOn()
    {
        var probe = new FakeProbe((_, _) => throw new InvalidOperationException("broken"));
        var backend = TestBackends.Create(new IPEndPoint(IPAddress.Loopback, 1001), Fast);
        await using var checker = Checks(Fast, probe);

        checker.SetBackends([backend]);

        await RoundsUntilAsync(Fast, () => !backend.Health.IsAvailable, "unhealthy");
        Assert.Equal(3, _logger.Entries.Count(entry => entry.EventId.Id == 2105 && entry.Level == LogLevel.Error));
    }

    [Fact]
    public async Task ChecksDisabled_ProbeNothing()
    {
        var probe = new FakeProbe(passes: true);
        var settings = Fast with { Enabled = false };
        await using (var checker = Checks(settings, probe))
        {
            checker.SetBackends(TestBackends.Many(2));
            _time.Advance(settings.Interval * 10);
        }

        Assert.Equal(0, probe.Count);
    }

    [Fact]
    public void HttpHealthProbe_PathThatCouldBreakTheRequest_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new HttpHealthProbe("/ok HTTP/1.1\r\nX-Evil: 1"));
        Assert.Throws<ArgumentException>(() => new HttpHealthProbe("healthz"));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK", true)]
    [InlineData("HTTP/1.0 200", true)]
    [InlineData("HTTP/1.1 200 ", true)]
    [InlineData("HTTP/1.1 201 Created", false)]
    [InlineData("HTTP/1.1 2000", false)]
    [InlineData("HTTP/2 200 OK", false)]
    [InlineData("http/1.1 200 OK", false)]
    [InlineData("", false)]
    public void HttpHealthProbe_IsOk_AcceptsOnlyStatus200(string statusLine, bool expected)
    {
        Assert.Equal(expected, HttpHealthProbe.IsOk(System.Text.Encoding.ASCII.GetBytes(statusLine)));
    }

    /// <summary>A listener's checks in a registry of their own, whose probes are <paramref name="probe"/> (real ones by default).</summary>
    private ListenerHealthChecks Checks(HealthCheckSettings settings, IHealthProbe? probe = null)
    {
        var registry = new HealthCheckRegistry(
            new ForwarderOptions { UnhealthyCheckIntervalFactor = 1 }, _time, _logger, probe is null ? null : _ => probe);
        _registries.Add(registry);
        return new ListenerHealthChecks(registry, settings, ProxyProtocolVersion.None, "default/web:80");
    }

    private static BackendState UnhealthyBackend(IPEndPoint endpoint, HealthCheckSettings settings)
    {
        // As a listener's backend of a target known unhealthy: the checks' first pass brings it back.
        var backend = TestBackends.Create(endpoint, settings);
        backend.Health.ReportCheck(passed: false, healthy: false);
        Assert.False(backend.Health.IsAvailable);
        return backend;
    }

    private static IPEndPoint ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        return endpoint;
    }

    /// <summary>
    /// Runs check rounds on the fake clock until <paramref name="condition"/> holds. The condition is looked at only while
    /// the checker waits for its next round (its probes, real connects included, are done), and the clock jumps to that
    /// round only when it does not hold yet, so no round runs beyond the one that made it true.
    /// </summary>
    private async Task RoundsUntilAsync(HealthCheckSettings settings, Func<bool> condition, string what, int maxRounds = 10)
    {
        for (var round = 0; ; round++)
        {
            await _time.WaitForTimerAsync(settings.Interval, $"the checker waiting for its next round ({what})");
            if (condition())
            {
                return;
            }

            Assert.True(round < maxRounds, $"not {what} after {maxRounds} rounds");
            _time.Advance(settings.Interval);
        }
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < Patience, $"not {what} within {Patience.TotalSeconds} s");
            await Task.Delay(5);
        }
    }
}
