using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>The allocator's mutable record of one IP in use.</summary>
internal sealed class LeasedIp(IpNumber address, IpSharing sharing)
{
    public IpNumber Address { get; } = address;

    /// <summary>Converted once: results and leases hand out this address many times.</summary>
    public System.Net.IPAddress Ip { get; } = address.ToAddress();

    /// <summary>Fixed while the IP is in use: it is the sharing of the service that took the IP first.</summary>
    public IpSharing Sharing { get; } = sharing;

    public Dictionary<ServicePort, ServiceKey> Bindings { get; } = [];

    public bool AreFree(ReadOnlySpan<ServicePort> ports)
    {
        foreach (var port in ports)
        {
            if (Bindings.ContainsKey(port))
            {
                return false;
            }
        }

        return true;
    }
}
