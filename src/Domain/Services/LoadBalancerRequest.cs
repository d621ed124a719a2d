using System.Net;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Domain.Services;

/// <summary>What a Service of type LoadBalancer asks of the allocator.</summary>
public sealed record LoadBalancerRequest
{
    public LoadBalancerRequest(
        ServiceKey service,
        IEnumerable<ServicePort> ports,
        IPAddress? requestedIp = null,
        IpSharing? sharing = null,
        DateTimeOffset createdAt = default,
        string? pool = null,
        IReadOnlyDictionary<string, string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(ports);
        if (service == default)
        {
            throw new ArgumentException("a service key is required", nameof(service));
        }

        var sorted = ports.ToArray();
        Array.Sort(sorted);
        if (sorted.Length == 0)
        {
            throw new ArgumentException($"service {service} has no ports", nameof(ports));
        }

        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                throw new ArgumentException($"service {service} lists port {sorted[i]} twice", nameof(ports));
            }
        }

        Service = service;
        PortArray = sorted;
        RequestedIp = requestedIp is { IsIPv4MappedToIPv6: true } ? requestedIp.MapToIPv4() : requestedIp;
        Sharing = sharing ?? IpSharing.Shared;
        CreatedAt = createdAt;
        Pool = pool;
        Labels = labels;
    }

    public ServiceKey Service { get; }

    /// <summary>The ports, sorted and distinct.</summary>
    public IReadOnlyList<ServicePort> Ports => PortArray;

    /// <summary>The same ports as an array, for the allocator's allocation-free loops.</summary>
    internal ServicePort[] PortArray { get; }

    /// <summary>The Service's explicit <c>loadBalancerIP</c>, when it has one.</summary>
    public IPAddress? RequestedIp { get; }

    public IpSharing Sharing { get; }

    /// <summary>When the Service was created: the older of two services wins a clash on restore.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The pool the Service asks for by name (the <c>littlelb.io/pool</c> annotation), when it does.</summary>
    public string? Pool { get; }

    /// <summary>The Service's labels, which a pool's Service selector is matched against.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; }

    /// <summary>
    /// The families asked for, primary first; empty when the Service states none (then a single-stack Service gets
    /// IPv4, or IPv6 when no pool can give it IPv4, as before dual-stack existed).
    /// </summary>
    public IReadOnlyList<IpFamily> Families
    {
        get => _families;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count > 2 || value.Distinct().Count() != value.Count)
            {
                throw new ArgumentException($"service {Service} asks for families {string.Join(", ", value)}; at most one of each", nameof(value));
            }

            _families = value;
        }
    }

    private readonly IReadOnlyList<IpFamily> _families = [];

    public IpFamilyPolicy FamilyPolicy { get; init; } = IpFamilyPolicy.SingleStack;

    /// <summary>Every explicit address (loadBalancerIP, or one per family by annotation); at most one of each family.</summary>
    public IReadOnlyList<IPAddress> RequestedIps
    {
        get => _requestedIps ?? (RequestedIp is null ? [] : [RequestedIp]);
        init => _requestedIps = [.. value.Select(ip => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip)];
    }

    private readonly IReadOnlyList<IPAddress>? _requestedIps;

    /// <summary>The explicit address of <paramref name="family"/>, if any.</summary>
    public IPAddress? RequestedIpOf(IpFamily family) => RequestedIps.FirstOrDefault(ip => IpFamilies.Of(ip) == family);

    /// <summary>The single-family request one family's allocator serves: this Service, its ports, the explicit address of that family.</summary>
    public LoadBalancerRequest ForFamily(IpFamily family) =>
        new(Service, PortArray, RequestedIpOf(family), Sharing, CreatedAt, Pool, Labels) { Families = [family] };

    /// <summary>
    /// True when allocating <paramref name="other"/> instead of this request would change nothing within one pool. The
    /// pool and the labels choose the pool, which the caller of the pool's allocator has already settled.
    /// </summary>
    public bool AsksSameAs(LoadBalancerRequest other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Service == other.Service
            && Sharing == other.Sharing
            && Equals(RequestedIp, other.RequestedIp)
            && PortArray.AsSpan().SequenceEqual(other.PortArray);
    }
}
