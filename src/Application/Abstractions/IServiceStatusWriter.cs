using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Abstractions;

/// <summary>Writes a Service's assigned IPs back to where it came from (status.loadBalancer.ingress).</summary>
public interface IServiceStatusWriter
{
    /// <param name="ips">The assigned IPs, primary first (one per family), or empty to clear the status.</param>
    ValueTask WriteAsync(ServiceKey service, IReadOnlyList<IPAddress> ips, CancellationToken cancellationToken);
}
