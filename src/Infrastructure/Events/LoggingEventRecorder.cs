using System.Collections.Concurrent;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Events;

/// <summary>
/// Records Service events as log lines where there is no cluster to hold them (standalone mode). An event identical to
/// the last one recorded for the same Service is not repeated, so periodic reconciliation does not flood the log.
/// </summary>
internal sealed partial class LoggingEventRecorder(ILogger<LoggingEventRecorder> logger) : IEventRecorder
{
    private readonly ConcurrentDictionary<ServiceKey, ServiceEvent> _last = new();

    public ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        if (_last.TryGetValue(serviceEvent.Service, out var previous) && previous == serviceEvent)
        {
            return ValueTask.CompletedTask;
        }

        _last[serviceEvent.Service] = serviceEvent;
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

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Service} {Reason}: {Message}")]
    private partial void LogNormalEvent(ServiceKey service, string reason, string message);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{Service} {Reason}: {Message}")]
    private partial void LogWarningEvent(ServiceKey service, string reason, string message);
}
