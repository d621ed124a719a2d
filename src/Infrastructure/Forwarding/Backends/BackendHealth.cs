using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Backends;

// PLACEHOLDER: replaced by the health-check work (thresholds, passive ejection).
internal sealed class BackendHealth
{
    private volatile bool _available = true;

    public BackendHealth(HealthCheckSettings settings, ForwarderOptions options, TimeProvider time)
    {
        _ = settings;
        _ = options;
        _ = time;
    }

    public bool IsAvailable => _available;

    public event Action? AvailabilityChanged;

    public void ReportProbe(bool success) => _available = success;

    public void ReportConnectSucceeded() => _available = true;

    public void ReportConnectFailed() => AvailabilityChanged?.Invoke();
}
