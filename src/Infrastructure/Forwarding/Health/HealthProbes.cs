using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

internal static class HealthProbes
{
    /// <summary>The probe that <paramref name="settings"/> ask for.</summary>
    public static IHealthProbe Create(HealthCheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Type switch
        {
            HealthCheckType.Tcp => new TcpHealthProbe(),
            HealthCheckType.Http => new HttpHealthProbe(settings.Path),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Type, "unknown health check type"),
        };
    }
}
