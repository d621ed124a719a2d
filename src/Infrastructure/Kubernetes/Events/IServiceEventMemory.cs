using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>An event recorder that remembers what it sent per Service, so that it does not repeat itself.</summary>
internal interface IServiceEventMemory
{
    /// <summary>Drops what was recorded for a deleted Service, so a Service re-created under its name gets its Events again.</summary>
    void Forget(ServiceKey service);
}
