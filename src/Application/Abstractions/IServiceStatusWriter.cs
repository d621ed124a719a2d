using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Abstractions;

/// <summary>Writes a Service's assigned IP back to where it came from (status.loadBalancer.ingress).</summary>
public interface IServiceStatusWriter
{
    /// <param name="ip">The assigned IP, or null to clear the status.</param>
    ValueTask WriteAsync(ServiceKey service, IPAddress? ip, CancellationToken cancellationToken);
}
