using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Services;

/// <summary>A Service as it runs now: its IP (on the link device) and one listener per forwarded port.</summary>
/// <param name="Spec">The spec it was applied from, kept so that a failed change can put the old assignment back.</param>
public sealed record AppliedService(
    ServiceSpec Spec,
    IPAddress Ip,
    IReadOnlyList<ListenerSpec> Listeners,
    string Policy,
    HealthCheckSettings HealthCheck)
{
    public ServiceKey Key => Spec.Key;
}
