using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>What the file holds: the Services to serve, notes about what was skipped, and the problems that make it unusable.</summary>
/// <param name="Problems">What cannot be read, each with its line, field and value. A file with any is not used at all:
/// what it asks for cannot be known.</param>
public sealed record StandaloneFile(IReadOnlyList<DesiredService> Services, IReadOnlyList<string> Notes, IReadOnlyList<ServiceFileProblem> Problems)
{
    public bool Succeeded => Problems.Count == 0;

    /// <summary>
    /// What the Services of a readable file ask for that cannot be served as written (a port out of range) or that a
    /// default replaces (an annotation value): not the file's problems, as the reconciler refuses or warns per Service,
    /// but what <see cref="ServiceFileCheck"/> reports, with their lines.
    /// </summary>
    public IReadOnlyList<ServiceFileProblem> ServiceProblems { get; init; } = [];
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
