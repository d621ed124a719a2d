using LoadBalancer.Infrastructure.Forwarding.Backends;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// The forwarder's health checks, one <see cref="TargetHealthCheck"/> per distinct <see cref="HealthCheckKey"/>: 5,000
/// Services on the same nodes' NodePorts are 5,000 subscriptions and as many probes as there are distinct targets. A
/// check starts with its first subscriber and stops, with its timer and its probe, when the last one leaves.
/// </summary>
/// <remarks>
/// The verdict (the thresholds) is the target's, kept once; each listener keeps its own <see cref="BackendHealth"/>
/// because passive ejection after failed connects is about that listener's traffic. A late subscriber takes the verdict
/// at once instead of starting over. What changes is logged per target, not per listener, and at scale one line per
/// window plus a summary (<see cref="HealthCheckRegistry"/>.Log.cs).
/// </remarks>
internal sealed partial class HealthCheckRegistry : IHealthCheckReports, IAsyncDisposable
{
    /// <summary>How often, at most, the registry says what it knows after changes (and logs a first change in full).</summary>
    public static readonly TimeSpan SummaryWindow = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _unhealthyIntervalFactor;
    private readonly Func<HealthCheckKey, IHealthProbe> _probes;
    private readonly Lock _gate = new();
    private readonly Dictionary<HealthCheckKey, TargetHealthCheck> _checks = [];
    private readonly HashSet<Task> _stopping = [];
    private readonly LogRateLimiter _changes;
    private readonly LogRateLimiter _probeFailures;
    private readonly LogRateLimiter _fallbacks;
    private int _disposed;

    /// <param name="probes">The probe for a key; by default the one its settings ask for (<see cref="HealthProbes"/>).</param>
    public HealthCheckRegistry(ForwarderOptions options, TimeProvider time, ILogger logger, Func<HealthCheckKey, IHealthProbe>? probes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _time = time;
        _logger = logger;
        _unhealthyIntervalFactor = options.UnhealthyCheckIntervalFactor;
        ArgumentOutOfRangeException.ThrowIfLessThan(_unhealthyIntervalFactor, 1, nameof(options));
        _probes = probes ?? (key => HealthProbes.Create(key.Settings, key.ProxyProtocol));
        _changes = new LogRateLimiter(time, (count, since) => LogSummary(count, since), SummaryWindow);
        _probeFailures = new LogRateLimiter(time, (count, since) => LogProbesThrewAgain(count, ForwardingLog.Seconds(since)), SummaryWindow);
        _fallbacks = new LogRateLimiter(time, (count, since) => LogListenersFellBack(count, ForwardingLog.Seconds(since)), SummaryWindow);
    }

    /// <summary>Distinct targets probed now (one loop each).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _checks.Count;
            }
        }
    }

    /// <summary>
    /// <paramref name="health"/> follows the check of <paramref name="key"/>, started now when it is the first. What the
    /// checks already know of the target is handed to it at once (its events may be raised before this returns).
    /// </summary>
    public HealthSubscription Subscribe(HealthCheckKey key, BackendHealth health, string listener)
    {
        ArgumentNullException.ThrowIfNull(health);
        ArgumentNullException.ThrowIfNull(listener);
        var subscription = new HealthSubscription(key, health, listener);
        bool? verdict;
        TargetHealthCheck? started = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (!_checks.TryGetValue(key, out var check))
            {
                check = started = new TargetHealthCheck(key, _probes(key), _time, _unhealthyIntervalFactor, this);
                _checks.Add(key, check);
            }

            verdict = check.Add(subscription);
        }

        // Outside the lock: a probe that ends at once reports to the registry and to the listeners on this thread.
        started?.Start();
        if (verdict is { } healthy)
        {
            health.ReportCheck(passed: false, healthy);
        }

        return subscription;
    }

    /// <summary>Ends a subscription; the last one of a key stops its check. The task ends when that check's probe has.</summary>
    public Task Unsubscribe(HealthSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_gate)
        {
            if (!_checks.TryGetValue(subscription.Key, out var check) || check.Remove(subscription) > 0)
            {
                return Task.CompletedTask;
            }

            _checks.Remove(subscription.Key);
            return Track(check.Stop());
        }
    }

    /// <summary>A listener fell back to backends that failed their checks: the first one per window is logged, the rest counted.</summary>
    public void ReportFallback(string listener)
    {
        if (_fallbacks.TryEnter())
        {
            ForwardingLog.AllBackendsUnhealthy(_logger, listener);
        }
    }

    public void CheckEnded(TargetHealthCheck check, bool passed, Exception? thrown)
    {
        ArgumentNullException.ThrowIfNull(check);
        if (thrown is not null)
        {
            if (_probeFailures.TryEnter())
            {
                LogProbeThrew(check.Key.Target, check.Key.Kind, thrown);
            }
        }
        else if (!passed)
        {
            LogCheckFailed(check.Key.Target, check.Key.Kind);
        }
    }

    public void VerdictChanged(TargetHealthCheck check, HealthChanges changes, IReadOnlyList<HealthSubscription> subscribers)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(subscribers);
        lock (_gate)
        {
            // A check stopped while its last probe ended has no listener left to speak of.
            if (!_checks.TryGetValue(check.Key, out var current) || !ReferenceEquals(current, check))
            {
                return;
            }
        }

        var first = _changes.TryEnter();
        var listeners = CountListeners(subscribers);
        var firstListener = subscribers.Count > 0 ? subscribers[0].Listener : "none";
        if (changes.HasFlag(HealthChanges.BecameUnhealthy))
        {
            LogTargetUnhealthy(first ? LogLevel.Warning : LogLevel.Debug, check.Key.Target, check.Key.Settings.UnhealthyThreshold, check.Key.Kind, listeners, firstListener);
        }

        if (changes.HasFlag(HealthChanges.BecameHealthy))
        {
            LogTargetHealthy(first ? LogLevel.Information : LogLevel.Debug, check.Key.Target, check.Key.Settings.HealthyThreshold, check.Key.Kind, listeners, firstListener);
        }
    }

    public void EjectionEnded(TargetHealthCheck check, HealthSubscription subscriber)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(subscriber);
        LogEjectionEnded(check.Key.Target, subscriber.Listener);
    }

    /// <summary>Stops every check and waits for their probes; then says what the rate-limited lines counted.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] stopping;
        lock (_gate)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            foreach (var check in _checks.Values)
            {
                _ = Track(check.Stop());
            }

            _checks.Clear();
            stopping = [.. _stopping];
        }

        await Task.WhenAll(stopping).ConfigureAwait(false);
        _changes.Flush();
        _probeFailures.Flush();
        _fallbacks.Flush();
    }

    /// <summary>What the checks say now, as the summary line gives it.</summary>
    internal HealthSummary Summarize()
    {
        TargetHealthCheck[] checks;
        lock (_gate)
        {
            checks = [.. _checks.Values];
        }

        var unhealthy = 0;
        var listeners = new HashSet<string>(StringComparer.Ordinal);
        TargetHealthCheck? first = null;
        foreach (var check in checks)
        {
            if (check.UnhealthySince is not { } since)
            {
                continue;
            }

            unhealthy++;
            if (first?.UnhealthySince is not { } firstSince || since < firstSince)
            {
                first = check;
            }

            foreach (var subscriber in check.Subscribers)
            {
                listeners.Add(subscriber.Listener);
            }
        }

        var firstText = first is null ? "none" : $"{first.Key.Target} ({first.Key.Kind}) of {Describe(first.Subscribers)}";
        return new HealthSummary(checks.Length, unhealthy, listeners.Count, firstText);
    }

    private void LogSummary(long changes, TimeSpan since)
    {
        var summary = Summarize();
        var level = summary.Unhealthy > 0 ? LogLevel.Warning : LogLevel.Information;
        var seconds = ForwardingLog.Seconds(since);
        LogSummary(level, summary.Unhealthy, summary.Targets, summary.ListenersAffected, changes, seconds, summary.First);
    }

    private Task Track(Task stopped)
    {
        if (stopped.IsCompleted)
        {
            return stopped;
        }

        _stopping.Add(stopped);
        _ = stopped.ContinueWith(
            done =>
            {
                lock (_gate)
                {
                    _stopping.Remove(done);
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return stopped;
    }

    private static int CountListeners(IReadOnlyList<HealthSubscription> subscribers)
    {
        // A listener with two backends on one target (two ports, one health port) is one listener.
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var subscriber in subscribers)
        {
            names.Add(subscriber.Listener);
        }

        return names.Count;
    }

    private static string Describe(HealthSubscription[] subscribers) =>
        subscribers.Length switch
        {
            0 => "no listener",
            1 => subscribers[0].Listener,
            _ => $"{subscribers[0].Listener} and {CountListeners(subscribers) - 1} more listeners",
        };
}

/// <summary>The registry's state for its summary line.</summary>
internal readonly record struct HealthSummary(int Targets, int Unhealthy, int ListenersAffected, string First);
