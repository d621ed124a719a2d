using k8s.Models;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Status;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Status;

/// <summary>A lookup that asks a function: the fake server's current objects (an informer that has caught up) or a fixed, stale copy.</summary>
internal sealed class ServiceLookupStub(Func<ServiceKey, V1Service?> find) : IServiceLookup
{
    public V1Service? Find(ServiceKey service) => find(service);
}
