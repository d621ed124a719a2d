using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>What the file holds: the Services to serve, notes about what was skipped, and the problems that make it unusable.</summary>
/// <param name="Errors">Documents that cannot be read, each naming the document, the field and the value. A file with
/// any error is not used at all: what it asks for cannot be known.</param>
public sealed record StandaloneFile(IReadOnlyList<DesiredService> Services, IReadOnlyList<string> Notes, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>How the file is read: the policy of Services that ask for none, and which classes are ours.</summary>
public sealed record StandaloneFileOptions
{
    public string DefaultPolicy { get; init; } = LoadBalancingPolicyNames.Default;

    /// <summary>The <c>spec.loadBalancerClass</c> we answer to (<c>--load-balancer-class</c>); null when none is configured.</summary>
    public string? LoadBalancerClass { get; init; }

    /// <summary>Whether Services without a class are ours (false with <c>--ignore-unclassed</c>).</summary>
    public bool ServeUnclassed { get; init; } = true;
}
