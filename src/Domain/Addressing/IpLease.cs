using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Addressing;

/// <summary>A port on a leased IP and the service that holds it.</summary>
public sealed record LeasedPort(PortBinding Binding, ServiceKey Owner);

/// <summary>An IP in use and every port binding on it, with the services that own them.</summary>
public sealed record IpLease(IPAddress Ip, IpSharing Sharing, IReadOnlyList<LeasedPort> Ports)
{
    public IEnumerable<ServiceKey> Owners => Ports.Select(port => port.Owner).Distinct().Order();
}
