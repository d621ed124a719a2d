using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// What the active checks of one target say: unhealthy after <see cref="HealthCheckSettings.UnhealthyThreshold"/>
/// failed checks in a row, healthy again after <see cref="HealthCheckSettings.HealthyThreshold"/> passes in a row. A
/// target starts healthy, as a new backend does. Not thread-safe: its <see cref="TargetHealthCheck"/> records under its lock.
/// </summary>
internal sealed class HealthVerdict(HealthCheckSettings settings)
{
    private readonly int _healthyThreshold = Math.Max(1, settings.HealthyThreshold);
    private readonly int _unhealthyThreshold = Math.Max(1, settings.UnhealthyThreshold);
    private int _failed;
    private int _passed;

    public bool IsHealthy { get; private set; } = true;

    /// <summary>False until a first check has ended: a new subscriber then keeps its own starting state.</summary>
    public bool IsKnown { get; private set; }

    /// <summary>Counts one check and says whether it turned the verdict (BecameHealthy or BecameUnhealthy).</summary>
    public HealthChanges Record(bool passed)
    {
        IsKnown = true;
        if (passed)
        {
            _failed = 0;
            _passed = Increment(_passed);
            if (!IsHealthy && _passed >= _healthyThreshold)
            {
                IsHealthy = true;
                return HealthChanges.BecameHealthy;
            }
        }
        else
        {
            _passed = 0;
            _failed = Increment(_failed);
            if (IsHealthy && _failed >= _unhealthyThreshold)
            {
                IsHealthy = false;
                return HealthChanges.BecameUnhealthy;
            }
        }

        return HealthChanges.None;
    }

    // Counts saturate instead of wrapping: only "at least the threshold" matters.
    private static int Increment(int count) => count == int.MaxValue ? count : count + 1;
}
