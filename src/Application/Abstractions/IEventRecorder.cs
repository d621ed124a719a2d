using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Abstractions;

public enum ServiceEventType
{
    Normal,
    Warning,
}

/// <summary>Something an operator should see on the Service (a Kubernetes Event, or a log line in standalone mode).</summary>
public sealed record ServiceEvent(ServiceKey Service, ServiceEventType Type, string Reason, string Message);

public interface IEventRecorder
{
    ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken);
}
