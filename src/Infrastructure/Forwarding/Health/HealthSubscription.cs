using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>One backend of one listener following the shared check of its <see cref="Key"/>.</summary>
internal sealed class HealthSubscription(HealthCheckKey key, BackendHealth health, string listener)
{
    public HealthCheckKey Key { get; } = key;

    /// <summary>The listener's own health of the backend, which takes every verdict of the check.</summary>
    public BackendHealth Health { get; } = health;

    /// <summary>The listener's name, as log lines give it.</summary>
    public string Listener { get; } = listener;
}
