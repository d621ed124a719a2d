using System.Diagnostics;
using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Health;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Health;

/// <summary>
/// One check per distinct target whatever the number of listeners, its lifetime, the slower probing of unhealthy
/// targets and the logging at scale. Probes are fakes and the clock is fake: nothing here waits for real time but the
/// hand-over of a probe's result between threads.
/// </summary>
public sealed class HealthCheckRegistryTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static readonly HealthCheckSettings Settings = new()
    {
        Interval = TimeSpan.FromSeconds(60),
        Timeout = TimeSpan.FromSeconds(20),
        HealthyThreshold = 2,
        UnhealthyThreshold = 3,
    };

    private static readonly IPEndPoint Target = new(IPAddress.Parse("127.0.131.10"), 8080);

    private readonly ObservableTimeProvider _time = new();
    private readonly CapturingLogger<HealthCheckRegistry> _logger = new();
    private readonly List<ListenerHealthChecks> _listeners = [];
    private HealthCheckRegistry? _registry;

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync();
        }

        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task ManyListeners_OneTarget_OneProbePerRound_AndEveryListenerFollowsTheVerdict()
    {
        var probe = new FakeProbe(passes: false);
        var registry = Registry(probe);
        var backends = Enumerable.Range(0, 100).Select(index => Listen($"default/web-{index}:80", Target)[0]).ToList();

        await FailedRoundsAsync(probe, rounds: 3, targets: 1);
        await UntilAsync(() => backends.All(backend => !backend.Health.IsAvailable), "every listener's backend unhealthy");

        Assert.Equal(1, registry.Count);
        Assert.Equal(3, probe.Count);
        Assert.All(backends, backend => Assert.False(backend.Health.IsAvailable));
        var line = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 2101);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("health check target 127.0.131.10:8080 is unhealthy after 3 failed tcp checks; 100 listeners use it, first default/web-0:80", line.Message);
    }

    [Fact]
    public void Checks_DifferInTheirDefinitionOrHeader_AreSeparate_AndTheSameOnesAreShared()
    {
        var registry = Registry(new FakeProbe(passes: true));

        Listen("a", Target);
        Listen("b", Target);
        Listen("c", Target, Settings with { Type = HealthCheckType.Http, Path = "/healthz" });
        Listen("d", Target, Settings with { Timeout = TimeSpan.FromSeconds(2) });
        Listen("e", Target, proxyProtocol: ProxyProtocolVersion.V2);
        Listen("f", new IPEndPoint(Target.Address, 30080), Settings with { Port = Target.Port });
        Listen("g", new IPEndPoint(Target.Address, 30081), Settings with { Port = Target.Port });

        // a and b share one; c, d and e each differ by one thing; f and g check the same health port of one node.
        Assert.Equal(5, registry.Count);
    }

    [Fact]
    public async Task LateListener_TakesTheKnownVerdictAtOnce_WithoutAProbeOfItsOwn()
    {
        var probe = new FakeProbe(passes: false);
        Registry(probe);
        Listen("first", Target);
        await FailedRoundsAsync(probe, rounds: 3, targets: 1);
        await UntilAsync(() => _logger.Entries.Any(entry => entry.EventId.Id == 2101), "the target unhealthy");

        var late = Listen("late", Target)[0];

        Assert.False(late.Health.IsAvailable);
        Assert.Equal(3, probe.Count);
    }

    [Fact]
    public async Task LastListenerLeaves_TheCheckStops_LeavingNoTimerAndNoTask()
    {
        var probe = new FakeProbe(passes: true);
        var registry = Registry(probe);
        var baseline = _time.LiveTimers;
        var first = Checks("first");
        var second = Checks("second");
        first.SetBackends([TestBackends.Create(Target, Settings, _time)]);
        second.SetBackends([TestBackends.Create(Target, Settings, _time)]);
        await RoundsAsync(probe, rounds: 2, targets: 1);
        Assert.True(_time.LiveTimers > baseline);

        await first.DisposeAsync();
        _time.Advance(Settings.Interval);
        await UntilAsync(() => probe.Count == 3, "the check going on for the second listener");

        await second.DisposeAsync();

        Assert.Equal(0, registry.Count);
        Assert.Equal(baseline, _time.LiveTimers);
        _time.Advance(Settings.Interval * 5);
        Assert.Equal(3, probe.Count);
    }

    [Fact]
    public async Task LastListenerLeaves_ProbeInFlight_IsCancelledAndReportsNothing()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new FakeProbe(async (_, cancellationToken) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return true;
        });
        var registry = Registry(probe);
        var baseline = _time.LiveTimers;
        var checks = Checks("only");
        var backend = TestBackends.Create(Target, Settings with { UnhealthyThreshold = 1 }, _time);
        checks.SetBackends([backend]);
        await started.Task.WaitAsync(Patience);

        var stopping = Stopwatch.StartNew();
        await checks.DisposeAsync();

        Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.True(backend.Health.IsAvailable);
        Assert.Equal(0, registry.Count);
        Assert.Equal(baseline, _time.LiveTimers);
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id == 2104);
    }

    [Fact]
    public async Task Probe_PassedThenHangs_FailsWhenTheTimeoutPassesOnTheClock()
    {
        // The second probe re-arms the cancellation source the first one left unfired, on the same fake clock.
        var hang = false;
        var probe = new FakeProbe(async (_, cancellationToken) =>
        {
            if (Volatile.Read(ref hang))
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            return true;
        });
        Registry(probe);
        Listen("only", Target, Settings with { UnhealthyThreshold = 1 });
        await UntilAsync(() => probe.Count == 1, "the first probe");
        Volatile.Write(ref hang, true);
        await _time.WaitForTimerAsync(Settings.Interval, "the next round");
        _time.Advance(Settings.Interval);
        await _time.WaitForTimerAsync(Settings.Timeout, "the second probe in flight");

        _time.Advance(Settings.Timeout - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id == 2104);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await UntilAsync(() => _logger.Entries.Any(entry => entry.EventId.Id == 2101), "unhealthy once the second probe timed out");
    }

    [Fact]
    public async Task UnhealthyTarget_IsProbedEveryFactorTimesTheInterval_AndARecoveryIsConfirmedAtTheUsualPace()
    {
        var passes = false;
        var probe = new FakeProbe((_, _) => ValueTask.FromResult(Volatile.Read(ref passes)));
        Registry(probe, new ForwarderOptions { UnhealthyCheckIntervalFactor = 3 });
        var backend = Listen("only", Target)[0];
        await FailedRoundsAsync(probe, rounds: 3, targets: 1);
        await UntilAsync(() => !backend.Health.IsAvailable, "the target unhealthy");

        var down = Settings.Interval * 3;
        await _time.WaitForTimerAsync(down, "the slower round of an unhealthy target");
        _time.Advance(down - TimeSpan.FromMilliseconds(1));
        Assert.Equal(3, probe.Count);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await UntilAsync(() => probe.Count == 4, "the fourth probe, 3 intervals after the third");

        // The target comes back: seen at the next slow round, then confirmed one interval later (healthy threshold 2).
        Volatile.Write(ref passes, true);
        await _time.WaitForTimerAsync(down, "the next slow round");
        _time.Advance(down);
        await UntilAsync(() => probe.Count == 5, "the first passing probe");
        Assert.False(backend.Health.IsAvailable);
        await _time.WaitForTimerAsync(Settings.Interval, "the usual pace after a pass");
        _time.Advance(Settings.Interval);
        await UntilAsync(() => backend.Health.IsAvailable, "healthy after the second pass");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(61)]
    public void Options_UnhealthyCheckIntervalFactorOutOfRange_AreRefusedNamingTheValue(int factor)
    {
        var options = new ForwarderOptions { UnhealthyCheckIntervalFactor = factor };

        var problem = Assert.Single(options.Validate());

        Assert.Equal($"UnhealthyCheckIntervalFactor: '{factor}' must be between 1 and 60", problem);
        var refused = Assert.Throws<ArgumentException>(() => new TcpForwarder(options, _time, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        Assert.Contains(problem, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoThousandListeners_TwoFailingTargets_AHandfulOfWarnings()
    {
        var probe = new FakeProbe(passes: false);
        Registry(probe);
        var other = new IPEndPoint(IPAddress.Parse("127.0.131.11"), 8080);
        for (var index = 0; index < 2_000; index++)
        {
            Listen($"default/web-{index}:80", Target, other);
        }

        await FailedRoundsAsync(probe, rounds: 3, targets: 2);
        await UntilAsync(() => _logger.Entries.Count(entry => entry.EventId.Id == 2101) == 2, "both targets unhealthy");
        _time.Advance(HealthCheckRegistry.SummaryWindow);

        var summary = await SummaryAsync();
        Assert.Equal(LogLevel.Warning, summary.Level);
        var warnings = _logger.Entries.Where(entry => entry.Level >= LogLevel.Warning).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains("health: 2 of 2 checked targets unhealthy, 2000 listeners affected (1 more changes in the last 30 s); first: ", summary.Message);
        Assert.Equal(2, _logger.Entries.Count(entry => entry.EventId.Id == 2101));
    }

    [Fact]
    public async Task TwoThousandDistinctFailingTargets_AHandfulOfWarnings_AndTheirRecoveryAHandfulOfLines()
    {
        var passes = false;
        var probe = new FakeProbe((_, _) => ValueTask.FromResult(Volatile.Read(ref passes)));
        var registry = Registry(probe);
        var backends = new List<BackendState>();
        for (var index = 0; index < 2_000; index++)
        {
            backends.AddRange(Listen($"default/web-{index}:80", new IPEndPoint(IPAddress.Parse($"127.0.131.{1 + (index % 250)}"), 40_000 + index)));
        }

        await FailedRoundsAsync(probe, rounds: 3, targets: 2_000);
        await UntilAsync(() => _logger.Entries.Count(entry => entry.EventId.Id == 2101) == 2_000, "every target unhealthy");
        _time.Advance(HealthCheckRegistry.SummaryWindow);

        Assert.Equal(2_000, registry.Count);
        var summary = await SummaryAsync(1);
        Assert.Equal(LogLevel.Warning, summary.Level);
        Assert.Contains("health: 2000 of 2000 checked targets unhealthy, 2000 listeners affected (1999 more changes in the last 30 s)", summary.Message);
        Assert.InRange(_logger.Entries.Count(entry => entry.Level >= LogLevel.Warning), 1, 2);

        // Everything comes back: seen at the next slow round (3 intervals after the third check), confirmed one
        // interval later; one line in full, the rest in the next summary, at Information.
        Volatile.Write(ref passes, true);
        _time.Advance((Settings.Interval * 3) - HealthCheckRegistry.SummaryWindow);
        await UntilAsync(() => probe.Count == 4 * 2_000, "the slow round of every target");
        _time.Advance(Settings.Interval);
        await UntilAsync(() => backends.All(backend => backend.Health.IsAvailable), "every backend healthy again");
        _time.Advance(HealthCheckRegistry.SummaryWindow);

        var recovered = await SummaryAsync(2);
        Assert.Equal(LogLevel.Information, recovered.Level);
        Assert.Contains("health: 0 of 2000 checked targets unhealthy, 0 listeners affected", recovered.Message);
        Assert.InRange(_logger.Entries.Count(entry => entry.Level >= LogLevel.Warning), 1, 2);
        Assert.Equal(1, _logger.Entries.Count(entry => entry.EventId.Id == 2102 && entry.Level == LogLevel.Information));
    }

    private HealthCheckRegistry Registry(IHealthProbe probe, ForwarderOptions? options = null)
    {
        _registry = new HealthCheckRegistry(options ?? new ForwarderOptions(), _time, _logger, _ => probe);
        return _registry;
    }

    private ListenerHealthChecks Checks(string listener, HealthCheckSettings? settings = null, ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.None)
    {
        var checks = new ListenerHealthChecks(_registry!, settings ?? Settings, proxyProtocol, listener);
        _listeners.Add(checks);
        return checks;
    }

    /// <summary>A listener with one backend per endpoint, following their checks.</summary>
    private BackendState[] Listen(string listener, IPEndPoint endpoint, HealthCheckSettings? settings = null, ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.None) =>
        Listen(listener, [endpoint], settings, proxyProtocol);

    private BackendState[] Listen(string listener, IPEndPoint first, IPEndPoint second) => Listen(listener, [first, second], null, ProxyProtocolVersion.None);

    private BackendState[] Listen(string listener, IPEndPoint[] endpoints, HealthCheckSettings? settings, ProxyProtocolVersion proxyProtocol)
    {
        var backends = endpoints.Select(endpoint => TestBackends.Create(endpoint, settings ?? Settings, _time)).ToArray();
        Checks(listener, settings, proxyProtocol).SetBackends(backends);
        return backends;
    }

    /// <summary>
    /// Runs <paramref name="rounds"/> rounds of <paramref name="targets"/> healthy-paced checks: waits for each round's
    /// probes to start, then moves the clock. (A check paces its rounds from each probe's start, so a clock moved before
    /// a probe ended still brings the next round one interval after the last.)
    /// </summary>
    private async Task RoundsAsync(FakeProbe probe, int rounds, int targets)
    {
        for (var round = 1; round <= rounds; round++)
        {
            var expected = round * targets;
            await UntilAsync(() => probe.Count >= expected, $"round {round}: {expected} probes (saw {probe.Count})");
            if (round < rounds)
            {
                _time.Advance(Settings.Interval);
            }
        }
    }

    /// <summary>As <see cref="RoundsAsync"/> for probes that fail, and waits until every check of the last round has ended (logged 2104).</summary>
    private async Task FailedRoundsAsync(FakeProbe probe, int rounds, int targets)
    {
        await RoundsAsync(probe, rounds, targets);
        await UntilAsync(() => FailedChecks == rounds * targets, $"{rounds * targets} failed checks ended (saw {FailedChecks})");
    }

    private int FailedChecks => _logger.Entries.Count(entry => entry.EventId.Id == 2104);

    /// <summary>The <paramref name="number"/>th summary line, once it is there; there is no other after it.</summary>
    private async Task<LogEntry> SummaryAsync(int number = 1)
    {
        await UntilAsync(() => Summaries().Count >= number, $"summary line {number}");
        var summaries = Summaries();
        Assert.Equal(number, summaries.Count);
        return summaries[^1];
    }

    private List<LogEntry> Summaries() => [.. _logger.Entries.Where(entry => entry.EventId.Id == 2106)];

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
