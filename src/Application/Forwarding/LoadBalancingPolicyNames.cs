using LoadBalancer.Domain.Text;

namespace LoadBalancer.Application.Forwarding;

/// <summary>The balancing policies a listener can be given, by the names operators write.</summary>
public static class LoadBalancingPolicyNames
{
    public const string RoundRobin = "round-robin";
    public const string LeastConnections = "least-connections";
    public const string PowerOfTwo = "power-of-two";

    /// <summary>The same client address goes to the same backend: Kubernetes' <c>sessionAffinity: ClientIP</c>.</summary>
    public const string SourceHash = "source-hash";

    public const string Default = RoundRobin;

    public static IReadOnlyList<string> All { get; } = [RoundRobin, LeastConnections, PowerOfTwo, SourceHash];

    public static bool IsKnown(string? name) => name is not null && All.Contains(name, StringComparer.Ordinal);

    public static string UnknownMessage(string? name) =>
        $"unknown balancing policy {QuotedValue.Of(name)}; known policies: {string.Join(", ", All)}";
}
