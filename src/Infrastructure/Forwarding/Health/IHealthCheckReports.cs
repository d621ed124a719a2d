using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>Where a <see cref="TargetHealthCheck"/> reports what its probes found, to be logged once for all its listeners.</summary>
internal interface IHealthCheckReports
{
    /// <summary>Every probe's end; <paramref name="thrown"/> is the probe's own failure (a bug), not the target's.</summary>
    void CheckEnded(TargetHealthCheck check, bool passed, Exception? thrown);

    /// <summary>The verdict of the target turned, once for every listener that follows it.</summary>
    void VerdictChanged(TargetHealthCheck check, HealthChanges changes, IReadOnlyList<HealthSubscription> subscribers);

    /// <summary>A passing check ended the passive ejection of the target as a backend of one listener.</summary>
    void EjectionEnded(TargetHealthCheck check, HealthSubscription subscriber);
}
