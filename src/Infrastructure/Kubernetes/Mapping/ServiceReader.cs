using System.Text;
using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// Reads the part of a Service every source shares (the cluster and the standalone file): its identity, ports,
/// loadBalancerIP, annotations and session affinity. Backends are each source's own business.
/// </summary>
internal static class ServiceReader
{
    /// <param name="defaultNamespace">The namespace of a Service whose metadata names none.</param>
    /// <param name="defaultPolicy">The policy of a Service that asks for none (neither annotation nor session affinity).</param>
    public static ServiceReading Read(V1Service service, string defaultNamespace, string defaultPolicy)
    {
        ArgumentNullException.ThrowIfNull(service);
        var metadata = service.Metadata;
        if (string.IsNullOrEmpty(metadata?.Name))
        {
            return new ServiceReading(null, defaultPolicy, HealthCheckSettings.Default, null, false, ["metadata.name: missing"]);
        }

        var problems = new List<string>();
        var ns = string.IsNullOrEmpty(metadata.NamespaceProperty) ? defaultNamespace : metadata.NamespaceProperty;
        var annotations = (IReadOnlyDictionary<string, string>?)metadata.Annotations?.AsReadOnly();
        var sharing = ServiceAnnotations.ReadSharing(annotations);
        var forwarding = ForwardingAnnotations.Read(annotations);
        problems.AddRange(sharing.Errors.Select(error => error.Message));
        problems.AddRange(forwarding.Errors.Select(error => error.Message));

        var ports = service.Spec?.Ports ?? [];
        var portSpecs = ports.Select(port => new ServicePortSpec(port.Protocol ?? "TCP", port.Port, port.Name)).ToList();
        // Kubernetes treats an empty loadBalancerIP as unset: no particular address asked for.
        var loadBalancerIp = string.IsNullOrEmpty(service.Spec?.LoadBalancerIP) ? null : service.Spec.LoadBalancerIP;
        var spec = new ServiceSpec(ns, metadata.Name, portSpecs, loadBalancerIp, sharing.SharingKey, sharing.ExclusiveIp,
            CreatedAt(metadata.CreationTimestamp));
        var check = new ServiceSpecValidator().Validate(spec);
        problems.AddRange(check.Errors.Select(failure => $"{FieldPath(failure.PropertyName)}: {failure.ErrorMessage}"));

        var policy = forwarding.Policy;
        switch (service.Spec?.SessionAffinity)
        {
            case null or "" or "None":
                break;
            case "ClientIP":
                policy ??= LoadBalancingPolicyNames.SourceHash;
                break;
            default:
                problems.Add($"spec.sessionAffinity: '{service.Spec.SessionAffinity}' must be None or ClientIP");
                break;
        }

        return new ServiceReading(spec, policy ?? defaultPolicy, forwarding.HealthCheck, annotations, check.IsValid, problems);
    }

    /// <summary>
    /// The client's JSON reader gives UTC; a Service built in code may carry local time, and one read from YAML an
    /// unspecified kind, which Kubernetes means as UTC.
    /// </summary>
    private static DateTimeOffset CreatedAt(DateTime? created) => created switch
    {
        null => default,
        { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime()),
        { } other => new DateTimeOffset(DateTime.SpecifyKind(other, DateTimeKind.Utc)),
    };

    /// <summary>The validator's property path in the manifest's words: Ports[0].Port is spec.ports[0].port.</summary>
    private static string FieldPath(string property) => property switch
    {
        "Namespace" => "metadata.namespace",
        "Name" => "metadata.name",
        "LoadBalancerIp" => "spec.loadBalancerIP",
        "SharingKey" => $"metadata.annotations[{ServiceAnnotations.SharingKey}]",
        "exclusiveIp" => $"metadata.annotations[{ServiceAnnotations.ExclusiveIp}]",
        _ when property.StartsWith("Ports", StringComparison.Ordinal) => "spec.ports" + ToCamel(property["Ports".Length..]),
        _ => property,
    };

    private static string ToCamel(string rest)
    {
        var builder = new StringBuilder(rest.Length);
        for (var i = 0; i < rest.Length; i++)
        {
            builder.Append(i > 0 && rest[i - 1] == '.' ? char.ToLowerInvariant(rest[i]) : rest[i]);
        }

        return builder.ToString();
    }
}

/// <summary>What <see cref="ServiceReader"/> found.</summary>
/// <param name="Spec">Null only when the Service has no name.</param>
/// <param name="Policy">The balancing policy: the annotation's, else source-hash for ClientIP affinity, else the default.</param>
/// <param name="SpecIsValid">Whether the spec passed validation, so that its ports can be relied on even when an
/// annotation was bad.</param>
/// <param name="Errors">Every problem, each naming the field and the value.</param>
internal sealed record ServiceReading(
    ServiceSpec? Spec,
    string Policy,
    HealthCheckSettings HealthCheck,
    IReadOnlyDictionary<string, string>? Annotations,
    bool SpecIsValid,
    IReadOnlyList<string> Errors)
{
    public bool Succeeded => Spec is not null && Errors.Count == 0;
}
