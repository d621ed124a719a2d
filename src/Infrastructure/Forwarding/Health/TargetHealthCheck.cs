using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// The one probe loop of one <see cref="HealthCheckKey"/>, whatever the number of listeners that follow it: it probes
/// the target every interval (each probe within the timeout), keeps the verdict, and hands every result to each
/// subscriber's <see cref="BackendHealth"/>. The first probe runs as soon as it starts.
/// </summary>
/// <remarks>
/// A loop costs one timer for its rounds and one cancellation source for its probes' timeouts, both made once and
/// re-armed per probe: no delay task, no linked source and no new timer per round, so that thousands of targets that
/// refuse cost little more than their sockets. A target the checks call unhealthy is probed every
/// <c>interval × <see cref="ForwarderOptions.UnhealthyCheckIntervalFactor"/></c> (HAProxy's <c>downinter</c>); once a
/// probe passes, the next ones come every interval again, so a recovery is confirmed at the usual pace.
/// </remarks>
internal sealed class TargetHealthCheck : IDisposable
{
    private readonly IHealthProbe _probe;
    private readonly TimeProvider _time;
    private readonly IHealthCheckReports _reports;
    private readonly TimeSpan _unhealthyInterval;
    private readonly Lock _lock = new();
    private readonly HealthVerdict _verdict;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer _timer;

    // Under _lock.
    private HealthSubscription[] _subscribers = [];
    private CancellationTokenSource? _cancel;
    private bool _probing;
    private bool _stopping;
    private long _probeStarted;
    private long? _unhealthySince;

    public TargetHealthCheck(HealthCheckKey key, IHealthProbe probe, TimeProvider time, int unhealthyIntervalFactor, IHealthCheckReports reports)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(key.Settings.Interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(key.Settings.Timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(unhealthyIntervalFactor, 1);
        Key = key;
        _probe = probe;
        _time = time;
        _reports = reports;
        _unhealthyInterval = key.Settings.Interval * unhealthyIntervalFactor;
        _verdict = new HealthVerdict(key.Settings);

        _timer = time.CreateTimer(static state => ((TargetHealthCheck)state!).OnDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public HealthCheckKey Key { get; }

    /// <summary>Completes once the check was stopped and no probe of it is in flight.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>The subscribers now; a new array per change, so readers take no lock.</summary>
    public HealthSubscription[] Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>When the checks turned the target unhealthy (a timestamp of the clock); null while it is healthy.</summary>
    public long? UnhealthySince
    {
        get
        {
            // A nullable long is two words: read under the lock it is written under.
            lock (_lock)
            {
                return _unhealthySince;
            }
        }
    }

    /// <summary>
    /// Runs the first probe now. Called once the first subscriber is in (<see cref="Add"/>), so that a probe that ends
    /// at once (a refused connect) already has someone to tell.
    /// </summary>
    public void Start()
    {
        lock (_lock)
        {
            if (!_stopping)
            {
                _timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// Adds a subscriber and says what the checks know: null before a first check has ended, else the verdict, which the
    /// caller hands to the new subscriber (outside every lock, as it raises the listener's events). The verdict and the
    /// set are read together, so a probe ending meanwhile either reaches the new subscriber or is in the answer.
    /// </summary>
    public bool? Add(HealthSubscription subscription)
    {
        lock (_lock)
        {
            _subscribers = [.. _subscribers, subscription];
            return _verdict.IsKnown ? _verdict.IsHealthy : null;
        }
    }

    /// <summary>Removes a subscriber; returns how many are left.</summary>
    public int Remove(HealthSubscription subscription)
    {
        lock (_lock)
        {
            _subscribers = Array.FindAll(_subscribers, candidate => !ReferenceEquals(candidate, subscription));
            return _subscribers.Length;
        }
    }

    /// <summary>Stops the rounds and cancels a probe in flight, whose result goes nowhere; see <see cref="Stopped"/>.</summary>
    public Task Stop()
    {
        lock (_lock)
        {
            if (!_stopping)
            {
                _stopping = true;
                _timer.Dispose();
                if (_probing)
                {
                    // Not Cancel: its callbacks (the probe's socket) would run here, under the lock. The probe's end disposes it.
                    _ = _cancel!.CancelAsync();
                }
                else
                {
                    _cancel?.Dispose();
                    _cancel = null;
                    _stopped.TrySetResult();
                }
            }
        }

        return _stopped.Task;
    }

    /// <summary>As <see cref="Stop"/>, without waiting.</summary>
    public void Dispose() => _ = Stop();

    private void OnDue()
    {
        CancellationToken token;
        lock (_lock)
        {
            // A firing that raced with a stop, or (never by design) with a probe still running.
            if (_stopping || _probing)
            {
                return;
            }

            _probing = true;
            _probeStarted = _time.GetTimestamp();
            if (_cancel is null)
            {
                _cancel = new CancellationTokenSource(Key.Settings.Timeout, _time);
            }
            else
            {
                _cancel.CancelAfter(Key.Settings.Timeout);
            }

            token = _cancel.Token;
        }

        _ = ProbeAsync(token);
    }

    private async Task ProbeAsync(CancellationToken token)
    {
        bool passed;
        Exception? thrown = null;
        try
        {
            passed = await _probe.ProbeAsync(Key.Target, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            passed = false;
        }
#pragma warning disable CA1031 // A probe that breaks must fail its target's check, not end every later check of it.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            thrown = exception;
            passed = false;
        }

        Complete(passed, thrown);
    }

    private void Complete(bool passed, Exception? thrown)
    {
        HealthChanges changes;
        bool healthy;
        HealthSubscription[] subscribers;
        lock (_lock)
        {
            _probing = false;

            // TryReset also stops the timeout's timer; a source that fired (timeout or stop) cannot be reused.
            if (_cancel is { } cancel && (_stopping || !cancel.TryReset()))
            {
                cancel.Dispose();
                _cancel = null;
            }

            if (_stopping)
            {
                // Cut short by the stop, so it says nothing about the target.
                _stopped.TrySetResult();
                return;
            }

            changes = _verdict.Record(passed);
            healthy = _verdict.IsHealthy;
            _unhealthySince = healthy ? null : _unhealthySince ?? _time.GetTimestamp();
            subscribers = _subscribers;

            // Rounds keep their pace from the start of each probe; a target that is down (and did not just pass) waits longer.
            var interval = healthy || passed ? Key.Settings.Interval : _unhealthyInterval;
            var wait = interval - _time.GetElapsedTime(_probeStarted);
            _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }

        _reports.CheckEnded(this, passed, thrown);
        foreach (var subscriber in subscribers)
        {
            if (subscriber.Health.ReportCheck(passed, healthy).HasFlag(HealthChanges.EjectionEnded))
            {
                _reports.EjectionEnded(this, subscriber);
            }
        }

        if (changes != HealthChanges.None)
        {
            _reports.VerdictChanged(this, changes, subscribers);
        }
    }
}
