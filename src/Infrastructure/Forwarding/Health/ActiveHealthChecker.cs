using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// Probes every backend of one listener every <see cref="HealthCheckSettings.Interval"/>, all at once, each within
/// <see cref="HealthCheckSettings.Timeout"/>, and reports the results to the backends' <see cref="BackendHealth"/>.
/// It starts at construction with a first round at once; backends added later are probed as soon as they arrive, then
/// with the rest. With checks disabled in the settings it probes nothing. With <see cref="HealthCheckSettings.Port"/>
/// set, each backend's address is probed on that port instead of the backend's own.
/// </summary>
internal sealed partial class ActiveHealthChecker : IAsyncDisposable
{
    private readonly HealthCheckSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _listenerName;
    private readonly IHealthProbe _probe;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    private IReadOnlyList<BackendState> _backends = [];
    private TaskCompletionSource _backendsChanged = NewSignal();
    private int _disposed;

    /// <param name="proxyProtocol">The listener's PROXY protocol header, which its checks send too.</param>
    public ActiveHealthChecker(HealthCheckSettings settings, TimeProvider time, ILogger logger, string listenerName,
        ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.None)
        : this(settings, time, logger, listenerName, HealthProbes.Create(settings, proxyProtocol))
    {
    }

    public ActiveHealthChecker(HealthCheckSettings settings, TimeProvider time, ILogger logger, string listenerName, IHealthProbe probe)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(listenerName);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Timeout, TimeSpan.Zero);
        _settings = settings;
        _time = time;
        _logger = logger;
        _listenerName = listenerName;
        _probe = probe;
        _loop = settings.Enabled ? Task.Run(() => RunAsync(_stopping.Token)) : Task.CompletedTask;
    }

    /// <summary>From now on, probes exactly <paramref name="backends"/>; those not probed yet are probed at once.</summary>
    public void SetBackends(IReadOnlyList<BackendState> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        Volatile.Write(ref _backends, backends);
        Interlocked.Exchange(ref _backendsChanged, NewSignal()).TrySetResult();
    }

    /// <summary>Stops probing and waits for the probes in flight, which are cancelled and report nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        // Backends probed in the current round, so that backends arriving between rounds are probed without waiting for
        // the next round and without probing the others twice.
        var probed = new HashSet<BackendState>();
        long? roundStarted = null;
        while (!stopping.IsCancellationRequested)
        {
            // The signal is taken before the set: a change after this line completes it, so the wait below wakes.
            var changed = Volatile.Read(ref _backendsChanged).Task;
            var backends = Volatile.Read(ref _backends);
            var untilNextRound = roundStarted is { } started ? _settings.Interval - _time.GetElapsedTime(started) : TimeSpan.Zero;
            if (untilNextRound <= TimeSpan.Zero)
            {
                roundStarted = _time.GetTimestamp();
                probed.Clear();
                probed.UnionWith(backends);
                await ProbeAllAsync(backends, stopping).ConfigureAwait(false);
                continue;
            }

            var arrived = backends.Where(probed.Add).ToList();
            if (arrived.Count > 0)
            {
                await ProbeAllAsync(arrived, stopping).ConfigureAwait(false);
                continue;
            }

            await WaitAsync(untilNextRound, changed, stopping).ConfigureAwait(false);
        }
    }

    private async Task WaitAsync(TimeSpan delay, Task changed, CancellationToken stopping)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var elapsed = Task.Delay(delay, _time, waiting.Token);
        await Task.WhenAny(elapsed, changed).ConfigureAwait(false);

        // Ends the delay's timer when the set changed first; a cancelled delay is never awaited, so it throws nowhere.
        await waiting.CancelAsync().ConfigureAwait(false);
    }

    private Task ProbeAllAsync(IReadOnlyList<BackendState> backends, CancellationToken stopping)
    {
        if (backends.Count == 0)
        {
            return Task.CompletedTask;
        }

        var probes = new Task[backends.Count];
        for (var index = 0; index < probes.Length; index++)
        {
            probes[index] = ProbeAsync(backends[index], stopping);
        }

        return Task.WhenAll(probes);
    }

    private async Task ProbeAsync(BackendState backend, CancellationToken stopping)
    {
        bool passed;
        using (var timeout = new CancellationTokenSource(_settings.Timeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token))
        {
            try
            {
                passed = await _probe.ProbeAsync(Target(backend), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                passed = false;
            }
#pragma warning disable CA1031 // A probe that breaks must fail its backend's check, not end every later check of the listener.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                LogProbeThrew(backend.Endpoint, _listenerName, exception);
                passed = false;
            }
        }

        if (stopping.IsCancellationRequested)
        {
            // Cut short by the stop, so it says nothing about the backend.
            return;
        }

        if (!passed)
        {
            LogCheckFailed(backend.Endpoint, _listenerName);
        }

        var changes = backend.Health.RecordProbe(passed);
        if (changes.HasFlag(HealthChanges.BecameUnhealthy))
        {
            LogBecameUnhealthy(backend.Endpoint, _listenerName, _settings.UnhealthyThreshold);
        }

        if (changes.HasFlag(HealthChanges.BecameHealthy))
        {
            LogBecameHealthy(backend.Endpoint, _listenerName, _settings.HealthyThreshold);
        }

        if (changes.HasFlag(HealthChanges.EjectionEnded))
        {
            LogEjectionEnded(backend.Endpoint, _listenerName);
        }
    }

    /// <summary>The backend itself, or its address on the settings' port (a node's kube-proxy health port).</summary>
    private IPEndPoint Target(BackendState backend) =>
        _settings.Port is { } port ? new IPEndPoint(backend.EndPoint.Address, port) : backend.EndPoint;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
