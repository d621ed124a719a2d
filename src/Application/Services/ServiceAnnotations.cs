using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Application.Services;

/// <summary>
/// The annotations a Service uses to steer allocation (docs/annotations.md), read the same way from Kubernetes and from
/// the standalone file.
/// </summary>
public static class ServiceAnnotations
{
    public const string Prefix = "littlelb.io/";
    public const string SharingKey = Prefix + "sharing-key";
    public const string ExclusiveIp = Prefix + "exclusive-ip";

    /// <summary>The named pool the Service's IP comes from.</summary>
    public const string Pool = Prefix + "pool";

    /// <summary>Explicit addresses, at most one per family: <c>"192.0.2.10,2001:db8::10"</c> (docs/annotations.md).</summary>
    public const string LoadBalancerIps = Prefix + "load-balancer-ips";

    /// <summary>MetalLB's equivalent of <see cref="LoadBalancerIps"/>, accepted so that Services move over unchanged.</summary>
    public const string MetalLbLoadBalancerIps = "metallb.universe.tf/loadBalancerIPs";

    /// <summary>Kubernetes' older form of spec.loadBalancerSourceRanges: comma-separated CIDRs; the spec field wins when both are set.</summary>
    public const string SourceRanges = "service.beta.kubernetes.io/load-balancer-source-ranges";

    /// <summary>MetalLB's equivalent of <see cref="SharingKey"/>, accepted so that Services move over unchanged.</summary>
    public const string MetalLbSharingKey = "metallb.universe.tf/allow-shared-ip";

    /// <summary>
    /// Reads the sharing annotations. A value that cannot be used is an error naming the annotation and the value, and
    /// the default takes its place (no sharing key; not exclusive), as for every other annotation.
    /// </summary>
    public static SharingAnnotations ReadSharing(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null || annotations.Count == 0)
        {
            return new SharingAnnotations(null, false, []);
        }

        var errors = new List<ValidationError>();
        var keyName = SharingKey;
        if (!annotations.TryGetValue(SharingKey, out var key) && annotations.TryGetValue(MetalLbSharingKey, out var metalLbKey))
        {
            (keyName, key) = (MetalLbSharingKey, metalLbKey);
        }

        if (key is not null && !ServiceSpecValidator.IsSharingKey(key))
        {
            errors.Add(new ValidationError(keyName, key,
                $"annotation {keyName}: {QuotedValue.Of(key)} must be 1-{ServiceSpecValidator.MaxSharingKeyLength} characters without surrounding spaces"));
            key = null;
        }

        var exclusive = false;
        if (annotations.TryGetValue(ExclusiveIp, out var exclusiveText))
        {
            if (bool.TryParse(exclusiveText.Trim(), out var parsed))
            {
                exclusive = parsed;
            }
            else
            {
                errors.Add(new ValidationError(ExclusiveIp, exclusiveText,
                    $"annotation {ExclusiveIp}: {QuotedValue.Of(exclusiveText)} must be \"true\" or \"false\""));
            }
        }

        if (exclusive && key is not null)
        {
            // Exclusive is the safer reading of the two: it never puts this Service on an IP with another one.
            errors.Add(new ValidationError(keyName, key,
                $"annotation {keyName}: {QuotedValue.Of(key)} is ignored: {ExclusiveIp} is \"true\", and an exclusive IP is never shared"));
            key = null;
        }

        return new SharingAnnotations(key, exclusive, errors);
    }

    /// <summary>
    /// Reads <see cref="Pool"/>, trimmed. A blank value asks for no pool, with a warning; any other value is the
    /// allocator's to judge, since only it knows the pools (an unknown pool is a refusal that lists them).
    /// </summary>
    public static PoolAnnotation ReadPool(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null || !annotations.TryGetValue(Pool, out var value))
        {
            return new PoolAnnotation(null, null);
        }

        return string.IsNullOrWhiteSpace(value)
            ? new PoolAnnotation(null, new ValidationError(Pool, value, $"annotation {Pool}: '{value}' is blank; the Service gets an IP as if it asked for no pool"))
            : new PoolAnnotation(value.Trim(), null);
    }
}

/// <summary>The addresses of <see cref="ServiceAnnotations.LoadBalancerIps"/> (or MetalLB's), split on commas.</summary>
public static class LoadBalancerIpsAnnotation
{
    /// <summary>
    /// The entries as written, trimmed (empty entries kept, so that the validator names them); null when neither
    /// annotation is set. The addresses are judged with the rest of the Service, which refuses a bad one by name.
    /// </summary>
    public static IReadOnlyList<string>? Read(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null
            || !(annotations.TryGetValue(ServiceAnnotations.LoadBalancerIps, out var value)
                || annotations.TryGetValue(ServiceAnnotations.MetalLbLoadBalancerIps, out value)))
        {
            return null;
        }

        return [.. value.Split(',').Select(entry => entry.Trim())];
    }
}

/// <summary>The pool asked for; a blank value is a warning and asks for none.</summary>
public sealed record PoolAnnotation(string? Pool, ValidationError? Error);

/// <summary>What the sharing annotations ask for; the sharing key is validated with the rest of the Service.</summary>
public sealed record SharingAnnotations(string? SharingKey, bool ExclusiveIp, IReadOnlyList<ValidationError> Errors);
