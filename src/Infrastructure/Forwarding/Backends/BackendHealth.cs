using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Backends;

/// <summary>
/// Whether a backend of one listener should take new connections, from two sources. Active: the verdict of the check of
/// its target, shared by every listener with the same target and check (<see cref="Health.HealthCheckRegistry"/>), which
/// counts the thresholds. Passive, this listener's own: <see cref="ForwarderOptions.PassiveEjectionThreshold"/>
/// failed connects in a row eject it until a check passes or, when checks are off, for
/// <see cref="ForwarderOptions.PassiveEjectionDuration"/>. A connect that succeeds also ends an ejection: it can only
/// happen when the backend was tried anyway (every backend was out, or the connect began before the ejection), and it
/// shows the backend is answering. Reports may come from any thread.
/// </summary>
internal sealed class BackendHealth
{
    private readonly Lock _lock = new();
    private readonly bool _checksEnabled;
    private readonly int _ejectionThreshold;
    private readonly TimeSpan _ejectionDuration;
    private readonly TimeProvider _time;

    private bool _healthy = true;
    private int _connectsFailed;
    private bool _ejected;
    private int _ejection;
    private ITimer? _ejectionTimer;

    // Read without the lock by every snapshot rebuild; written only under it.
    private volatile bool _available = true;

    public BackendHealth(HealthCheckSettings settings, ForwarderOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _checksEnabled = settings.Enabled;
        _ejectionThreshold = options.PassiveEjectionThreshold;
        _ejectionDuration = options.PassiveEjectionDuration;
        _time = time;
    }

    /// <summary>Healthy by the checks and not ejected. A new backend starts available.</summary>
    public bool IsAvailable => _available;

    /// <summary>What the active checks say, leaving passive ejection aside.</summary>
    public bool IsHealthy
    {
        get
        {
            lock (_lock)
            {
                return _healthy;
            }
        }
    }

    /// <summary>Out after failed connects (passive ejection), until a check passes or the ejection times out.</summary>
    public bool IsEjected
    {
        get
        {
            lock (_lock)
            {
                return _ejected;
            }
        }
    }

    /// <summary>Passive ejections since the backend was added (the ejection's number, which also tells a stale timer apart).</summary>
    public int Ejections
    {
        get
        {
            lock (_lock)
            {
                return _ejection;
            }
        }
    }

    /// <summary>Failing (by the checks) before ejected, as both are read under one lock; readiness is the endpoint's, not known here.</summary>
    public BackendHealthState State
    {
        get
        {
            lock (_lock)
            {
                return !_healthy ? BackendHealthState.Failing : _ejected ? BackendHealthState.Ejected : BackendHealthState.Healthy;
            }
        }
    }

    /// <summary>Raised after <see cref="IsAvailable"/> changed, outside any lock; handlers read the new value.</summary>
    public event Action? AvailabilityChanged;

    /// <summary>
    /// Takes the verdict of the shared check of this backend's target (<see cref="Health.HealthCheckRegistry"/>):
    /// <paramref name="healthy"/> is what the target's checks say, and a check that <paramref name="passed"/> also ends a
    /// passive ejection, which stays this listener's own. Says what it changed (for logging).
    /// </summary>
    public HealthChanges ReportCheck(bool passed, bool healthy)
    {
        var changes = HealthChanges.None;
        bool availabilityChanged;
        lock (_lock)
        {
            if (healthy != _healthy)
            {
                _healthy = healthy;
                changes |= healthy ? HealthChanges.BecameHealthy : HealthChanges.BecameUnhealthy;
            }

            if (passed && _ejected)
            {
                EndEjection();
                changes |= HealthChanges.EjectionEnded;
            }

            availabilityChanged = UpdateAvailability();
        }

        RaiseIf(availabilityChanged);
        return changes;
    }

    public void ReportConnectSucceeded()
    {
        bool availabilityChanged;
        lock (_lock)
        {
            _connectsFailed = 0;
            if (!_ejected)
            {
                return;
            }

            EndEjection();
            availabilityChanged = UpdateAvailability();
        }

        RaiseIf(availabilityChanged);
    }

    public void ReportConnectFailed()
    {
        bool availabilityChanged;
        lock (_lock)
        {
            _connectsFailed = Increment(_connectsFailed);
            if (_ejected || !PassiveEjectionEnabled || _connectsFailed < _ejectionThreshold)
            {
                return;
            }

            _ejected = true;
            _connectsFailed = 0;
            var ejection = ++_ejection;
            if (!_checksEnabled)
            {
                // No check will come to end it, so time does.
                _ejectionTimer = _time.CreateTimer(_ => EndEjectionAfterDuration(ejection), null, _ejectionDuration, Timeout.InfiniteTimeSpan);
            }

            availabilityChanged = UpdateAvailability();
        }

        RaiseIf(availabilityChanged);
    }

    // Without checks, an ejection of no duration would take a backend out for nothing; without a threshold there is no
    // ejection at all.
    private bool PassiveEjectionEnabled => _ejectionThreshold > 0 && (_checksEnabled || _ejectionDuration > TimeSpan.Zero);

    private void EndEjectionAfterDuration(int ejection)
    {
        bool availabilityChanged;
        lock (_lock)
        {
            // A timer that fires as its ejection is being ended by a success must not end the next one.
            if (!_ejected || ejection != _ejection)
            {
                return;
            }

            EndEjection();
            availabilityChanged = UpdateAvailability();
        }

        RaiseIf(availabilityChanged);
    }

    private void EndEjection()
    {
        _ejected = false;
        _connectsFailed = 0;
        _ejectionTimer?.Dispose();
        _ejectionTimer = null;
    }

    private bool UpdateAvailability()
    {
        var available = _healthy && !_ejected;
        if (available == _available)
        {
            return false;
        }

        _available = available;
        return true;
    }

    private void RaiseIf(bool availabilityChanged)
    {
        if (availabilityChanged)
        {
            AvailabilityChanged?.Invoke();
        }
    }

    // Counts saturate instead of wrapping: only "at least the threshold" matters.
    private static int Increment(int count) => count == int.MaxValue ? count : count + 1;
}

/// <summary>What one check result changed (for a target's verdict, or for one listener's backend).</summary>
[Flags]
internal enum HealthChanges
{
    None = 0,
    BecameHealthy = 1,
    BecameUnhealthy = 2,
    EjectionEnded = 4,
}
