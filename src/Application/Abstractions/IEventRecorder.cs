using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Abstractions;

public enum ServiceEventType
{
    Normal,
    Warning,
}

/// <summary>Something an operator should see on the Service (a Kubernetes Event, or a log line in standalone mode).</summary>
public sealed record ServiceEvent(ServiceKey Service, ServiceEventType Type, string Reason, string Message);

/// <summary>
/// Where Service events go. It records what it is given: deciding what is news (a change, not a repeat) is the
/// reconciler's job, which reads back what the sink already holds when it starts.
/// </summary>
public interface IEventRecorder
{
    ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken);

    /// <summary>
    /// The events this sink already holds from earlier runs (the Events in the cluster), oldest first, so that a restart
    /// or a new leader does not report again what is already there. Empty for a sink that keeps nothing (a log).
    /// </summary>
    ValueTask<IReadOnlyList<ServiceEvent>> HeldAsync(CancellationToken cancellationToken);
}
