using System.Net;
using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// What makes two checks the same check: the address:port probed, the whole check definition (kind, path, port,
/// interval, timeout, thresholds) and the PROXY header it sends. Listeners whose backends share a key share one probe.
/// </summary>
internal readonly record struct HealthCheckKey(IPEndPoint Target, HealthCheckSettings Settings, ProxyProtocolVersion ProxyProtocol)
{
    /// <summary>The key for a backend: its own address:port, or its address on the settings' port (a node's kube-proxy health port).</summary>
    public static HealthCheckKey For(IPEndPoint backend, HealthCheckSettings settings, ProxyProtocolVersion proxyProtocol)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(settings);
        var target = settings.Port is { } port ? new IPEndPoint(backend.Address, port) : backend;
        return new HealthCheckKey(target, settings, proxyProtocol);
    }

    /// <summary>"tcp" or "http /path", as the log lines name the kind of check.</summary>
    public string Kind => Settings.Type == HealthCheckType.Http ? $"http {Settings.Path}" : "tcp";
}
