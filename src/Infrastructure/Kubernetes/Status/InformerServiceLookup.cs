using k8s.Models;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Kubernetes.Status;

/// <summary>The Service informer's cache as the writers see it.</summary>
internal sealed class InformerServiceLookup(IResourceInformer<V1Service> services) : IServiceLookup
{
    public V1Service? Find(ServiceKey service) => services.Get(service.Namespace, service.Name);
}
