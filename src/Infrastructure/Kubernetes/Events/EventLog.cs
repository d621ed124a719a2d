using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>The Kubernetes event recorder's log lines, with stable EventIds 5220–5239.</summary>
internal static partial class EventLog
{
    [LoggerMessage(EventId = 5220, Level = LogLevel.Information, Message = "{Service} {Reason}: {Message}")]
    public static partial void Normal(ILogger logger, ServiceKey service, string reason, string message);

    [LoggerMessage(EventId = 5221, Level = LogLevel.Warning, Message = "{Service} {Reason}: {Message}")]
    public static partial void Warning(ILogger logger, ServiceKey service, string reason, string message);

    [LoggerMessage(EventId = 5222, Level = LogLevel.Warning, Message = "Could not create the {Reason} Event on {Service}: {Error}")]
    public static partial void CreateFailed(ILogger logger, ServiceKey service, string reason, string error);

    [LoggerMessage(EventId = 5224, Level = LogLevel.Warning,
        Message = "Could not count a repeated {Reason} Event on {Service} in its series: {Error}; repeats are recorded as Events of their own (grant patch on events.k8s.io events)")]
    public static partial void SeriesPatchRefused(ILogger logger, ServiceKey service, string reason, string error);

    [LoggerMessage(EventId = 5223, Level = LogLevel.Warning, Message = "Stopping: {Count} Events were not written to the API server within {FlushTimeout}; they are in this log only")]
    public static partial void Dropped(ILogger logger, int count, TimeSpan flushTimeout);
}
