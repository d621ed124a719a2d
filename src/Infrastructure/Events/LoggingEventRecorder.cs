using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Events;

/// <summary>
/// Records Service events as log lines where there is no cluster to hold them (standalone mode). A log keeps nothing
/// that a restart could read back, so after a restart the current warnings are logged once again: the new log shows them.
/// </summary>
internal sealed partial class LoggingEventRecorder(ILogger<LoggingEventRecorder> logger) : IEventRecorder
{
    public ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        if (serviceEvent.Type == ServiceEventType.Warning)
        {
            LogWarningEvent(serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message);
        }
        else
        {
            LogNormalEvent(serviceEvent.Service, serviceEvent.Reason, serviceEvent.Message);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<ServiceEvent>> HeldAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<ServiceEvent>>([]);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Service} {Reason}: {Message}")]
    private partial void LogNormalEvent(ServiceKey service, string reason, string message);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{Service} {Reason}: {Message}")]
    private partial void LogWarningEvent(ServiceKey service, string reason, string message);
}
