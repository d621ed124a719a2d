using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>A Service read from the standalone file, with its static backends: what one <see cref="ApplyService"/> needs.</summary>
public sealed record StandaloneService(ServiceSpec Spec, IReadOnlyList<PortBackends> Backends, string Policy, HealthCheckSettings HealthCheck)
{
    public ServiceKey Key => Spec.Key;

    public ApplyService ToCommand() => new(Spec, Backends) { Policy = Policy, HealthCheck = HealthCheck };

    /// <summary>Whether applying <paramref name="other"/> instead would change nothing (the records hold lists, compared here by content).</summary>
    public bool SameAs(StandaloneService other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ApplyServiceComparer.SameCommand(ToCommand(), other.ToCommand());
    }
}

/// <summary>What the file holds: the Services to run, notes about what was skipped, and every problem found.</summary>
/// <param name="Errors">Problems, each naming the document, the Service, the field and the value. A file with any
/// error is not applied at all.</param>
public sealed record StandaloneFile(IReadOnlyList<StandaloneService> Services, IReadOnlyList<string> Notes, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}
