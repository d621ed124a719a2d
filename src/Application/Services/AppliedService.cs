using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Services;

/// <summary>A Service as it runs now: its IPs (on the link device) and one listener per forwarded port and IP.</summary>
/// <param name="Ip">The primary IP (the first of <see cref="Ips"/>).</param>
/// <param name="Spec">The spec it was applied from, kept so that a failed change can put the old assignment back.</param>
public sealed record AppliedService(
    ServiceSpec Spec,
    IPAddress Ip,
    IReadOnlyList<ListenerSpec> Listeners,
    string Policy,
    HealthCheckSettings HealthCheck)
{
    private readonly IReadOnlyList<IPAddress>? _ips;

    public ServiceKey Key => Spec.Key;

    /// <summary>Every IP of the Service, primary first (a dual-stack Service has one per family).</summary>
    public IReadOnlyList<IPAddress> Ips
    {
        get => _ips ?? [Ip];
        init => _ips = value is [var first, ..] && first.Equals(Ip)
            ? value
            : throw new ArgumentException($"the IPs of {Spec.Key} must start with its primary IP {Ip}", nameof(value));
    }
}
