namespace LoadBalancer.Architecture.Tests;

/// <summary>
/// The dependency rule as data: which of our own layers, and which outside packages, each layer may reference.
/// Dependencies point inward only.
/// </summary>
internal static class DependencyRule
{
    public const string Domain = "LoadBalancer.Domain";
    public const string Application = "LoadBalancer.Application";
    public const string Infrastructure = "LoadBalancer.Infrastructure";
    public const string Host = "loadbalancer";

    public static readonly IReadOnlyDictionary<string, string[]> AllowedLayers = new Dictionary<string, string[]>
    {
        [Domain] = [],
        [Application] = [Domain],
        [Infrastructure] = [Application, Domain],
        [Host] = [Infrastructure, Application, Domain],
    };

    /// <summary>Outside assemblies each layer may use, by name prefix, beyond the base class library.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> AllowedPackages = new Dictionary<string, string[]>
    {
        [Domain] = [],
        [Application] = ["Mediator", "FluentValidation", "Microsoft.Extensions."],
        // Microsoft.Net.Http.Headers is ASP.NET Core's own (its typed headers), in the same shared framework.
        [Infrastructure] = ["Mediator", "FluentValidation", "Microsoft.Extensions.", "Microsoft.AspNetCore", "Microsoft.Net.Http.Headers", "KubernetesClient", "YamlDotNet", "OpenTelemetry"],
        [Host] = ["Mediator", "FluentValidation", "Microsoft.Extensions.", "Microsoft.AspNetCore", "Microsoft.Net.Http.Headers", "KubernetesClient", "YamlDotNet"],
    };

    private static readonly string[] BaseClassLibrary = ["System", "System.", "Microsoft.Win32.", "netstandard", "mscorlib"];

    /// <summary>Every reference of <paramref name="layer"/> that breaks the rule, with the reason.</summary>
    public static IReadOnlyList<string> Violations(string layer, IEnumerable<string> referencedAssemblies)
    {
        var ours = AllowedLayers.Keys.ToHashSet(StringComparer.Ordinal);
        var violations = new List<string>();
        foreach (var reference in referencedAssemblies)
        {
            if (ours.Contains(reference))
            {
                if (!AllowedLayers[layer].Contains(reference, StringComparer.Ordinal))
                {
                    violations.Add($"{layer} references {reference}, an outer layer");
                }

                continue;
            }

            var allowed = BaseClassLibrary.Any(prefix => reference == prefix || (prefix.EndsWith('.') && reference.StartsWith(prefix, StringComparison.Ordinal)))
                || AllowedPackages[layer].Any(prefix => reference == prefix || reference.StartsWith(prefix, StringComparison.Ordinal));
            if (!allowed)
            {
                violations.Add($"{layer} references {reference}, which this layer may not use");
            }
        }

        return violations;
    }
}
