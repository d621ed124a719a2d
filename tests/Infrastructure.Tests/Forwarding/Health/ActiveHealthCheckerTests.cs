using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Health;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Health;

public sealed class ActiveHealthCheckerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private static readonly HealthCheckSettings Fast = new()
    {
        Interval = TimeSpan.FromMilliseconds(100),
        Timeout = TimeSpan.FromMilliseconds(300),
        HealthyThreshold = 2,
        UnhealthyThreshold = 3,
    };

    private readonly CapturingLogger<ActiveHealthChecker> _logger = new();

    [Fact]
    public async Task TcpCheck_ListeningBackend_BecomesHealthyAfterTheThreshold()
    {
        var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        try
        {
            var backend = UnhealthyBackend((IPEndPoint)server.LocalEndpoint, Fast);
            await using var checker = new ActiveHealthChecker(Fast, TimeProvider.System, _logger, "default/web:80");

            checker.SetBackends([backend]);

            Assert.True(await EventuallyAsync(() => backend.Health.IsAvailable));
            var line = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 2102);
            Assert.Equal($"backend {backend.Endpoint} of default/web:80 is healthy again after 2 passed checks", line.Message);
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
        await using var checker = new ActiveHealthChecker(Fast, TimeProvider.System, _logger, "default/web:80");

        checker.SetBackends([backend]);

        Assert.True(await EventuallyAsync(() => !backend.Health.IsAvailable));
        var line = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 2101);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal($"backend {backend.Endpoint} of default/web:80 is unhealthy after 3 failed checks", line.Message);
        Assert.Equal(3, _logger.Entries.Count(entry => entry.EventId.Id == 2104));
    }

    [Fact]
    public async Task HttpCheck_Answers200_IsHealthyAndSendsAProperRequest()
    {
        await using var server = new LoopbackHttpServer("HTTP/1.1 200 OK");
        var settings = Fast with { Type = HealthCheckType.Http, Path = "/healthz?full=1" };
        var backend = UnhealthyBackend(server.EndPoint, settings);
        await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80");

        checker.SetBackends([backend]);

        Assert.True(await EventuallyAsync(() => backend.Health.IsAvailable));
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
        await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80");

        checker.SetBackends([backend]);

        Assert.True(await EventuallyAsync(() => !backend.Health.IsAvailable));
    }

    [Fact]
    public async Task HttpCheck_StatusChanges_HealthFollows()
    {
        await using var server = new LoopbackHttpServer("HTTP/1.1 503 Service Unavailable");
        var settings = Fast with { Type = HealthCheckType.Http };
        var backend = TestBackends.Create(server.EndPoint, settings);
        await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80");
        checker.SetBackends([backend]);
        Assert.True(await EventuallyAsync(() => !backend.Health.IsAvailable));

        server.StatusLine = "HTTP/1.0 200 OK";

        Assert.True(await EventuallyAsync(() => backend.Health.IsAvailable));
    }

    [Fact]
    public async Task HttpCheck_ServerNeverAnswers_FailsByTimeout()
    {
        // Connections complete in the backlog, so the connect passes; the request is never read.
        var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        try
        {
            var settings = Fast with { Type = HealthCheckType.Http, Timeout = TimeSpan.FromMilliseconds(100), UnhealthyThreshold = 2 };
            var backend = TestBackends.Create((IPEndPoint)server.LocalEndpoint, settings);
            await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80");
            var started = Stopwatch.StartNew();

            checker.SetBackends([backend]);

            Assert.True(await EventuallyAsync(() => !backend.Health.IsAvailable));
            Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(190), $"unhealthy after {started.Elapsed}, before two timeouts");
        }
        finally
        {
            server.Stop();
        }
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
        var settings = Fast with { Interval = TimeSpan.FromMinutes(1), Timeout = TimeSpan.FromSeconds(2) };
        await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80", probe);

        checker.SetBackends(TestBackends.Many(3));

        await allInFlight.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Probes_RepeatEveryInterval()
    {
        var probe = new FakeProbe(passes: true);
        var settings = Fast with { Interval = TimeSpan.FromMilliseconds(50) };
        var started = Stopwatch.StartNew();
        var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80", probe);
        checker.SetBackends(TestBackends.Many(1));

        Assert.True(await EventuallyAsync(() => probe.Count >= 5));
        await checker.DisposeAsync();

        // No more than one round per interval, plus the first and one for the backend's arrival.
        Assert.InRange(probe.Count, 5, (started.Elapsed / settings.Interval) + 2);
    }

    [Fact]
    public async Task SetBackends_NewBackend_IsProbedWithoutWaitingForTheInterval()
    {
        var settings = Fast with { Interval = TimeSpan.FromMinutes(10), HealthyThreshold = 1 };
        var probe = new FakeProbe(passes: true);
        var first = UnhealthyBackend(new IPEndPoint(IPAddress.Loopback, 1001), settings);
        var second = UnhealthyBackend(new IPEndPoint(IPAddress.Loopback, 1002), settings);
        await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80", probe);
        checker.SetBackends([first]);
        Assert.True(await EventuallyAsync(() => first.Health.IsAvailable));

        checker.SetBackends([first, second]);

        Assert.True(await EventuallyAsync(() => second.Health.IsAvailable));
        Assert.Equal([first.EndPoint, second.EndPoint], probe.Probed);
    }

    [Fact]
    public async Task SetBackends_RemovedBackend_IsNoLongerProbed()
    {
        var probe = new FakeProbe(passes: true);
        var settings = Fast with { Interval = TimeSpan.FromMilliseconds(30) };
        await using var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80", probe);
        checker.SetBackends(TestBackends.Many(1));
        Assert.True(await EventuallyAsync(() => probe.Count >= 2));

        checker.SetBackends([]);
        await Task.Delay(100);
        var afterRemoval = probe.Count;
        await Task.Delay(300);

        Assert.Equal(afterRemoval, probe.Count);
    }

    [Fact]
    public async Task DisposeAsync_ProbeInFlight_StopsPromptlyAndReportsNothing()
    {
        var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        try
        {
            var settings = Fast with { Type = HealthCheckType.Http, Timeout = TimeSpan.FromSeconds(30), UnhealthyThreshold = 1 };
            var backend = TestBackends.Create((IPEndPoint)server.LocalEndpoint, settings);
            var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80");
            checker.SetBackends([backend]);
            await Task.Delay(200);

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
        await using var checker = new ActiveHealthChecker(Fast, TimeProvider.System, _logger, "default/web:80", probe);

        checker.SetBackends([backend]);

        Assert.True(await EventuallyAsync(() => !backend.Health.IsAvailable));
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 2105 && entry.Level == LogLevel.Error);
    }

    [Fact]
    public async Task ChecksDisabled_ProbeNothing()
    {
        var probe = new FakeProbe(passes: true);
        var settings = Fast with { Enabled = false };
        await using (var checker = new ActiveHealthChecker(settings, TimeProvider.System, _logger, "default/web:80", probe))
        {
            checker.SetBackends(TestBackends.Many(2));
            await Task.Delay(300);
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

    private static BackendState UnhealthyBackend(IPEndPoint endpoint, HealthCheckSettings settings)
    {
        var backend = TestBackends.Create(endpoint, settings);
        for (var failure = 0; failure < settings.UnhealthyThreshold; failure++)
        {
            backend.Health.ReportProbe(false);
        }

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

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > Patience)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }
}
