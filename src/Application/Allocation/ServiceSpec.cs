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
    string? LoadBalancerClass = null)
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
        IPAddress? requested = null;
        if (LoadBalancerIp is not null && !IpAddressText.TryParse(LoadBalancerIp, out requested))
        {
            throw new InvalidOperationException(IpAddressText.InvalidAddressMessage(LoadBalancerIp));
        }

        var sharing = ExclusiveIp ? IpSharing.Exclusive
            : SharingKey is not null ? IpSharing.WithKey(SharingKey)
            : IpSharing.Shared;
        var ports = Ports.Select(port => port.ToServicePort());
        return new LoadBalancerRequest(Key, ports, requested, sharing, CreatedAt, Pool, Labels);
    }

    /// <summary>Whether allocating <paramref name="other"/> instead would ask the allocator for the same thing (the record
    /// compares its port list and its labels by reference).</summary>
    public bool AsksSameAs(ServiceSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return this with { Ports = [], Labels = null, SourceRanges = [] } == other with { Ports = [], Labels = null, SourceRanges = [] }
            && Ports.SequenceEqual(other.Ports)
            && SourceRanges.SequenceEqual(other.SourceRanges)
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
