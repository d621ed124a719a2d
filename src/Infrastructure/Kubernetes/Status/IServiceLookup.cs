using k8s.Models;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Status;

/// <summary>
/// The Services as the daemon last saw them (the informer's cache): the writers read a Service's ports, status and uid
/// from it instead of asking the API server before every write.
/// </summary>
internal interface IServiceLookup
{
    /// <returns>The Service, or null when it does not exist (or no longer does).</returns>
    V1Service? Find(ServiceKey service);
}
