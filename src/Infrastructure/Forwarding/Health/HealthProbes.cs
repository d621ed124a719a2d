using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

internal static class HealthProbes
{
    /// <summary>The probe that <paramref name="settings"/> ask for, which starts with the listener's PROXY protocol header.</summary>
    public static IHealthProbe Create(HealthCheckSettings settings, ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.None)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Type switch
        {
            HealthCheckType.Tcp => new TcpHealthProbe(proxyProtocol),
            HealthCheckType.Http => new HttpHealthProbe(settings.Path, proxyProtocol),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Type, "unknown health check type"),
        };
    }
}
