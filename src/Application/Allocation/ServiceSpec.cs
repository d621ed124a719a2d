using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Allocation;

/// <summary>A port of a Service as the outside world writes it (protocol as text: "TCP" or "UDP").</summary>
public sealed record ServicePortSpec(string Protocol, int Port, string? Name = null)
{
    /// <summary>The domain port. Call only on a port that passed <see cref="ServiceSpecValidator"/>.</summary>
    public ServicePort ToServicePort() =>
        TransportProtocolNames.TryParse(Protocol, out var protocol)
            ? new ServicePort(protocol, Port)
            : throw new InvalidOperationException($"protocol '{Protocol}' is neither TCP nor UDP");

    public static ServicePortSpec From(ServicePort port) => new(TransportProtocolNames.Name(port.Protocol), port.Port);
}

/// <summary>
/// The part of a Service of type LoadBalancer that decides its IP, as read from Kubernetes or a standalone file,
/// before validation.
/// </summary>
/// <param name="LoadBalancerIp">The explicit spec.loadBalancerIP, if any.</param>
/// <param name="SharingKey">Share the IP only with services carrying the same key.</param>
/// <param name="ExclusiveIp">Never share the IP.</param>
/// <param name="Pool">The pool asked for by name (the <c>littlelb.io/pool</c> annotation).</param>
/// <param name="Labels">metadata.labels, which a pool's Service selector is matched against.</param>
/// <param name="LoadBalancerClass">spec.loadBalancerClass, shown to operators; the sources already filtered on it.</param>
/// <param name="IpFamilies">spec.ipFamilies as written ("IPv4", "IPv6"), primary first; null when not set.</param>
/// <param name="IpFamilyPolicy">spec.ipFamilyPolicy as written; null is SingleStack.</param>
/// <param name="LoadBalancerIps">The <c>littlelb.io/load-balancer-ips</c> annotation's addresses, at most one per family.</param>
public sealed record ServiceSpec(
    string Namespace,
    string Name,
    IReadOnlyList<ServicePortSpec> Ports,
    string? LoadBalancerIp = null,
    string? SharingKey = null,
    bool ExclusiveIp = false,
    DateTimeOffset CreatedAt = default,
    string? Pool = null,
    IReadOnlyDictionary<string, string>? Labels = null,
    string? LoadBalancerClass = null,
    IReadOnlyList<string>? IpFamilies = null,
    string? IpFamilyPolicy = null,
    IReadOnlyList<string>? LoadBalancerIps = null)
{
    public ServiceKey Key => new(Namespace, Name);

    /// <summary>
    /// The networks clients may come from (spec.loadBalancerSourceRanges, else the annotation
    /// <c>service.beta.kubernetes.io/load-balancer-source-ranges</c>), as written; empty lets every client in.
    /// </summary>
    public IReadOnlyList<string> SourceRanges { get; init; } = [];

    /// <summary>Whether <see cref="SourceRanges"/> came from the annotation, which validation then names.</summary>
    public bool SourceRangesFromAnnotation { get; init; }

    /// <summary>The parsed <see cref="SourceRanges"/>. Call only on a spec that passed <see cref="ServiceSpecValidator"/>.</summary>
    public IReadOnlyList<IpCidr> ParseSourceRanges() => [.. SourceRanges.Select(range => IpCidr.Parse(range.Trim()))];

    /// <summary>The domain request. Call only on a spec that passed <see cref="ServiceSpecValidator"/>.</summary>
    public LoadBalancerRequest ToRequest()
    {
        var requested = RequestedIps();
        var sharing = ExclusiveIp ? IpSharing.Exclusive
            : SharingKey is not null ? IpSharing.WithKey(SharingKey)
            : IpSharing.Shared;
        var ports = Ports.Select(port => port.ToServicePort());
        return new LoadBalancerRequest(Key, ports, requested.Count > 0 ? requested[0] : null, sharing, CreatedAt, Pool, Labels)
        {
            RequestedIps = requested,
            FamilyPolicy = FamilyPolicy(),
            Families = Families(),
        };
    }

    /// <summary>The explicit addresses: the annotation's, else loadBalancerIP. Call only on a valid spec.</summary>
    public IReadOnlyList<IPAddress> RequestedIps() =>
        [.. (LoadBalancerIps ?? (LoadBalancerIp is null ? [] : [LoadBalancerIp])).Select(text =>
            IpAddressText.TryParse(text, out var ip) ? ip : throw new InvalidOperationException(IpAddressText.InvalidAddressMessage(text)))];

    /// <summary>spec.ipFamilyPolicy; unset is SingleStack, as Kubernetes defaults it. Call only on a valid spec.</summary>
    public IpFamilyPolicy FamilyPolicy() =>
        IpFamilyPolicy is null ? Domain.Addressing.IpFamilyPolicy.SingleStack
            : Domain.Addressing.IpFamilies.TryParsePolicy(IpFamilyPolicy, out var policy) ? policy
            : throw new InvalidOperationException($"ipFamilyPolicy '{IpFamilyPolicy}' is not known");

    /// <summary>
    /// The families the Service gets, primary first: SingleStack takes ipFamilies[0], else the family of its explicit
    /// address, else none stated (the allocator gives IPv4, or IPv6 when no pool has IPv4); a dual-stack policy takes
    /// both, with the same primary (IPv4 when nothing says otherwise).
    /// </summary>
    public IReadOnlyList<IpFamily> Families()
    {
        var stated = (IpFamilies ?? []).Select(text => Domain.Addressing.IpFamilies.TryParse(text, out var family)
            ? family
            : throw new InvalidOperationException($"ipFamilies entry '{text}' is not known")).ToList();
        var requested = RequestedIps();
        IpFamily? primary = stated.Count > 0 ? stated[0] : requested.Count > 0 ? Domain.Addressing.IpFamilies.Of(requested[0]) : null;
        if (FamilyPolicy() == Domain.Addressing.IpFamilyPolicy.SingleStack)
        {
            return primary is { } only ? [only] : [];
        }

        var first = primary ?? IpFamily.IPv4;
        return [first, Domain.Addressing.IpFamilies.Other(first)];
    }

    /// <summary>Whether allocating <paramref name="other"/> instead would ask the allocator for the same thing (the record
    /// compares its port list and its labels by reference).</summary>
    public bool AsksSameAs(ServiceSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return this with { Ports = [], Labels = null, SourceRanges = [], IpFamilies = null, LoadBalancerIps = null }
                == other with { Ports = [], Labels = null, SourceRanges = [], IpFamilies = null, LoadBalancerIps = null }
            && Ports.SequenceEqual(other.Ports)
            && SourceRanges.SequenceEqual(other.SourceRanges)
            && (IpFamilies ?? []).SequenceEqual(other.IpFamilies ?? [])
            && (LoadBalancerIps ?? []).SequenceEqual(other.LoadBalancerIps ?? [])
            && SameLabels(Labels, other.Labels);
    }

    private static bool SameLabels(IReadOnlyDictionary<string, string>? mine, IReadOnlyDictionary<string, string>? theirs)
    {
        var (a, b) = (mine ?? Empty, theirs ?? Empty);
        return a.Count == b.Count
            && a.All(label => b.TryGetValue(label.Key, out var value) && string.Equals(value, label.Value, StringComparison.Ordinal));
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}
