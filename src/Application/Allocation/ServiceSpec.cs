using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Allocation;

/// <summary>A port of a Service as the outside world writes it (protocol as text: "TCP" or "UDP").</summary>
public sealed record ServicePortSpec(string Protocol, int Port, string? Name = null);

/// <summary>
/// The part of a Service of type LoadBalancer that decides its IP, as read from Kubernetes or a standalone file,
/// before validation.
/// </summary>
/// <param name="LoadBalancerIp">The explicit spec.loadBalancerIP, if any.</param>
/// <param name="SharingKey">Share the IP only with services carrying the same key.</param>
/// <param name="ExclusiveIp">Never share the IP.</param>
public sealed record ServiceSpec(
    string Namespace,
    string Name,
    IReadOnlyList<ServicePortSpec> Ports,
    string? LoadBalancerIp = null,
    string? SharingKey = null,
    bool ExclusiveIp = false,
    DateTimeOffset CreatedAt = default)
{
    public ServiceKey Key => new(Namespace, Name);

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
        var ports = Ports.Select(port => new ServicePort(ParseProtocol(port.Protocol)!.Value, port.Port));
        return new LoadBalancerRequest(Key, ports, requested, sharing, CreatedAt);
    }

    /// <summary>Kubernetes writes protocols in upper case; lower case is accepted from hand-written files.</summary>
    internal static TransportProtocol? ParseProtocol(string? protocol) => protocol?.ToUpperInvariant() switch
    {
        "TCP" => TransportProtocol.Tcp,
        "UDP" => TransportProtocol.Udp,
        _ => null,
    };
}
