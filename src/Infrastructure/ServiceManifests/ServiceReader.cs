using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Services;
using LoadBalancer.Domain.Text;

namespace LoadBalancer.Infrastructure.ServiceManifests;

/// <summary>
/// Reads the part of a Service manifest every source shares (the cluster and the standalone file): its identity,
/// ports, loadBalancerIP, annotations and session affinity. It does not validate the spec: the allocation request does,
/// once. Annotation values it cannot use become warnings, and the default takes their place. Backends are each source's
/// own business.
/// </summary>
internal static class ServiceReader
{
    /// <summary>The namespace of a Service whose metadata names none; the API server always names one.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>Kubernetes' default for <c>spec.sessionAffinityConfig.clientIP.timeoutSeconds</c>: three hours.</summary>
    public const int DefaultAffinityTimeoutSeconds = 10_800;

    /// <summary>The largest timeout the API server accepts: one day.</summary>
    public const int MaxAffinityTimeoutSeconds = 86_400;

    public const string AffinityTimeoutField = "spec.sessionAffinityConfig.clientIP.timeoutSeconds";

    /// <param name="defaultPolicy">The policy of a Service that asks for none by annotation; with <c>sessionAffinity: ClientIP</c> it places each client's first connection.</param>
    /// <returns>Null when the Service has no name, which nothing can serve.</returns>
    public static ServiceReading? Read(V1Service service, string defaultPolicy)
    {
        ArgumentNullException.ThrowIfNull(service);
        var metadata = service.Metadata;
        if (string.IsNullOrEmpty(metadata?.Name))
        {
            return null;
        }

        var annotations = (IReadOnlyDictionary<string, string>?)metadata.Annotations?.AsReadOnly();
        var sharing = ServiceAnnotations.ReadSharing(annotations);
        var forwarding = ForwardingAnnotations.Read(annotations);
        var pool = ServiceAnnotations.ReadPool(annotations);
        var warnings = new List<string>();
        warnings.AddRange(sharing.Errors.Select(error => error.Message));
        if (pool.Error is { } poolError)
        {
            warnings.Add(poolError.Message);
        }

        warnings.AddRange(forwarding.Errors.Select(error => error.Message));

        // A hand-written file can hold an empty entry ("- "), which reads as null; the API server never sends one. It is
        // port 0, which the allocation request rejects naming spec.ports[i], so the other ports keep their indices.
        var ports = (service.Spec?.Ports ?? [])
            .Select(port => port is null
                ? new ServicePortSpec(TransportProtocolNames.Tcp, 0)
                : new ServicePortSpec(port.Protocol ?? TransportProtocolNames.Tcp, port.Port, port.Name))
            .ToList();

        // Kubernetes treats an empty loadBalancerIP as unset: no particular address asked for.
        var loadBalancerIp = string.IsNullOrEmpty(service.Spec?.LoadBalancerIP) ? null : service.Spec.LoadBalancerIP;
        var spec = new ServiceSpec(KeyOf(service).Namespace, metadata.Name, ports, loadBalancerIp, sharing.SharingKey, sharing.ExclusiveIp,
            CreatedAt(metadata.CreationTimestamp), pool.Pool, (IReadOnlyDictionary<string, string>?)metadata.Labels?.AsReadOnly(),
            string.IsNullOrEmpty(service.Spec?.LoadBalancerClass) ? null : service.Spec.LoadBalancerClass,
            IpFamilies: service.Spec?.IpFamilies is { Count: > 0 } families ? [.. families] : null,
            IpFamilyPolicy: string.IsNullOrEmpty(service.Spec?.IpFamilyPolicy) ? null : service.Spec.IpFamilyPolicy,
            LoadBalancerIps: LoadBalancerIpsAnnotation.Read(annotations));
        spec = WithSourceRanges(spec, service.Spec?.LoadBalancerSourceRanges, annotations);

        // ClientIP affinity is a table of clients in front of the policy (ClientAffinityTable), not a policy of its own:
        // the policy places a client's first connection, as kube-proxy's random pick does.
        TimeSpan? affinityTimeout = null;
        var affinityConfig = service.Spec?.SessionAffinityConfig?.ClientIP?.TimeoutSeconds;
        switch (service.Spec?.SessionAffinity)
        {
            case null or "" or "None":
                if (affinityConfig is not null)
                {
                    warnings.Add($"spec.sessionAffinityConfig: ignored, as spec.sessionAffinity is not ClientIP");
                }

                break;
            case "ClientIP":
                affinityTimeout = AffinityTimeout(affinityConfig, warnings);
                break;
            default:
                warnings.Add($"spec.sessionAffinity: {QuotedValue.Of(service.Spec.SessionAffinity)} must be None or ClientIP");
                break;
        }

        return new ServiceReading(spec, forwarding.Policy ?? defaultPolicy, forwarding.HealthCheck, annotations, warnings)
        {
            AffinityTimeout = affinityTimeout,
            UdpFlowIdleTimeout = forwarding.UdpFlowIdleTimeout,
            ProxyProtocol = forwarding.ProxyProtocol,
        };
    }

    /// <summary>The API server's range; a value outside it (a hand-written file) is a warning and the default applies.</summary>
    private static TimeSpan AffinityTimeout(int? seconds, List<string> warnings)
    {
        switch (seconds)
        {
            case null:
                break;
            case >= 1 and <= MaxAffinityTimeoutSeconds:
                return TimeSpan.FromSeconds(seconds.Value);
            default:
                warnings.Add($"{AffinityTimeoutField}: {QuotedValue.Of(seconds.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))} must be from 1 to {MaxAffinityTimeoutSeconds} seconds; the default {DefaultAffinityTimeoutSeconds} applies");
                break;
        }

        return TimeSpan.FromSeconds(DefaultAffinityTimeoutSeconds);
    }

    /// <summary>The Service's key; a manifest without a namespace is in <see cref="DefaultNamespace"/>.</summary>
    public static ServiceKey KeyOf(V1Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return new ServiceKey(
            string.IsNullOrEmpty(service.Metadata?.NamespaceProperty) ? DefaultNamespace : service.Metadata.NamespaceProperty,
            service.Metadata?.Name ?? string.Empty);
    }

    /// <summary>
    /// Kubernetes' rule: a non-empty spec.loadBalancerSourceRanges wins and the annotation is ignored; else the annotation,
    /// comma-separated, each entry trimmed; an annotation that is empty or blank restricts nothing. The ranges stay as
    /// written (an empty entry included), so that validation names the bad one and quotes it.
    /// </summary>
    internal static ServiceSpec WithSourceRanges(ServiceSpec spec, IList<string>? field, IReadOnlyDictionary<string, string>? annotations)
    {
        if (field is { Count: > 0 })
        {
            // A hand-written file can hold an empty entry ("- "), which reads as null: invalid, named by its index.
            return spec with { SourceRanges = [.. field.Select(range => range ?? string.Empty)] };
        }

        if (annotations is null || !annotations.TryGetValue(ServiceAnnotations.SourceRanges, out var text) || string.IsNullOrWhiteSpace(text))
        {
            return spec;
        }

        return spec with
        {
            SourceRanges = text.Split(',', StringSplitOptions.TrimEntries),
            SourceRangesFromAnnotation = true,
        };
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
}

/// <summary>What <see cref="ServiceReader"/> found.</summary>
/// <param name="Policy">The balancing policy: the annotation's, else the default (with ClientIP affinity, it places first connections).</param>
/// <param name="Warnings">Values that cannot be used, each naming the field and the value; the default stands in for each.</param>
internal sealed record ServiceReading(
    ServiceSpec Spec,
    string Policy,
    HealthCheckSettings HealthCheck,
    IReadOnlyDictionary<string, string>? Annotations,
    IReadOnlyList<string> Warnings)
{
    /// <summary>With <c>sessionAffinity: ClientIP</c>, its timeout (<c>sessionAffinityConfig.clientIP.timeoutSeconds</c> or the default); else null.</summary>
    public TimeSpan? AffinityTimeout { get; init; }

    /// <summary>The annotation's idle timeout of UDP flows; null for the forwarder's default.</summary>
    public TimeSpan? UdpFlowIdleTimeout { get; init; }

    /// <summary>The PROXY protocol header asked for by annotation; none by default.</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }
}
