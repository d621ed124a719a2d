using System.Text;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Services;

namespace LoadBalancer.Application.Allocation;

/// <summary>
/// Names the field of a <see cref="ServiceSpec"/> problem the way the Service's manifest does, since every source reads
/// Kubernetes manifests: the validator's <c>Service.Ports[0].Port</c> is <c>spec.ports[0].port</c>.
/// </summary>
public static class ServiceSpecFields
{
    /// <summary>"spec.ports[0].port: port 0 must be between 1 and 65535".</summary>
    public static string Describe(ValidationError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var path = ManifestPath(error.Field);
        if (path.Length == 0 || error.Message.StartsWith(path, StringComparison.Ordinal))
        {
            return error.Message;
        }

        // Messages that already name their field by its last part ("loadBalancerIP: ...") get the whole path instead.
        var leaf = path[(path.LastIndexOf('.') + 1)..] + ": ";
        return $"{path}: {(error.Message.StartsWith(leaf, StringComparison.Ordinal) ? error.Message[leaf.Length..] : error.Message)}";
    }

    public static string ManifestPath(string? property)
    {
        var field = property ?? string.Empty;
        const string nested = "Service.";
        if (field.StartsWith(nested, StringComparison.Ordinal))
        {
            field = field[nested.Length..];
        }

        return field switch
        {
            "Service" => string.Empty,
            "Namespace" => "metadata.namespace",
            "Name" => "metadata.name",
            "LoadBalancerIp" => "spec.loadBalancerIP",
            "SharingKey" => Annotation(ServiceAnnotations.SharingKey),
            "exclusiveIp" => Annotation(ServiceAnnotations.ExclusiveIp),
            "Pool" => Annotation(ServiceAnnotations.Pool),
            "IpFamilies" => "spec.ipFamilies",
            "IpFamilyPolicy" => "spec.ipFamilyPolicy",
            "LoadBalancerIps" => Annotation(ServiceAnnotations.LoadBalancerIps),
            _ when field.StartsWith("IpFamilies[", StringComparison.Ordinal) => "spec.ipFamilies" + field["IpFamilies".Length..],
            _ when field.StartsWith("LoadBalancerIps[", StringComparison.Ordinal) => Annotation(ServiceAnnotations.LoadBalancerIps) + field["LoadBalancerIps".Length..],
            ServiceSpecValidator.SourceRangesAnnotationField => Annotation(ServiceAnnotations.SourceRanges),
            _ when field.StartsWith("SourceRanges", StringComparison.Ordinal) => "spec.loadBalancerSourceRanges" + field["SourceRanges".Length..],
            _ when field.StartsWith("Ports", StringComparison.Ordinal) => "spec.ports" + ToCamel(field["Ports".Length..]),
            _ => field,
        };
    }

    /// <summary><c>metadata.annotations["littlelb.io/sharing-key"]</c>: an annotation's path as kubectl's errors write it
    /// (the key holds dots and slashes, so it is quoted).</summary>
    public static string Annotation(string key) => $"metadata.annotations[\"{key}\"]";

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
