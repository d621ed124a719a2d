using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// One listener's part in the forwarder's checks: a subscription to the shared check of each backend's target, kept
/// exactly in step with the backend set. With checks disabled in the settings it subscribes to nothing. With
/// <see cref="HealthCheckSettings.Port"/> set, each backend's address is checked on that port instead of its own.
/// </summary>
internal sealed class ListenerHealthChecks : IAsyncDisposable
{
    private readonly HealthCheckRegistry _registry;
    private readonly HealthCheckSettings _settings;
    private readonly ProxyProtocolVersion _proxyProtocol;
    private readonly string _listener;
    private readonly Lock _gate = new();
    private Dictionary<BackendState, HealthSubscription> _subscriptions = new(ReferenceEqualityComparer.Instance);
    private bool _disposed;

    /// <param name="proxyProtocol">The listener's PROXY protocol header, which its checks send too (part of the check's key).</param>
    public ListenerHealthChecks(HealthCheckRegistry registry, HealthCheckSettings settings, ProxyProtocolVersion proxyProtocol, string listener)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Timeout, TimeSpan.Zero);
        _registry = registry;
        _settings = settings;
        _proxyProtocol = proxyProtocol;
        _listener = listener;
    }

    /// <summary>From now on, follows exactly the checks of <paramref name="backends"/>; a target new to the forwarder is probed at once.</summary>
    public void SetBackends(IReadOnlyList<BackendState> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        if (!_settings.Enabled)
        {
            return;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var next = new Dictionary<BackendState, HealthSubscription>(backends.Count, ReferenceEqualityComparer.Instance);
            foreach (var backend in backends)
            {
                if (next.ContainsKey(backend))
                {
                    continue;
                }

                next[backend] = _subscriptions.Remove(backend, out var kept)
                    ? kept
                    : _registry.Subscribe(HealthCheckKey.For(backend.EndPoint, _settings, _proxyProtocol), backend.Health, _listener);
            }

            // Left are the backends gone from the set; their checks stop when no other listener follows them.
            foreach (var gone in _subscriptions.Values)
            {
                _ = _registry.Unsubscribe(gone);
            }

            _subscriptions = next;
        }
    }

    /// <summary>Leaves every check; waits for the probes of the checks that stopped with it, whose results go nowhere.</summary>
    public async ValueTask DisposeAsync()
    {
        HealthSubscription[] subscriptions;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            subscriptions = [.. _subscriptions.Values];
            _subscriptions = new(ReferenceEqualityComparer.Instance);
        }

        var stopped = new Task[subscriptions.Length];
        for (var index = 0; index < subscriptions.Length; index++)
        {
            stopped[index] = _registry.Unsubscribe(subscriptions[index]);
        }

        await Task.WhenAll(stopped).ConfigureAwait(false);
    }
}
