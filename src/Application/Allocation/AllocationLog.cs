using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Allocation;

/// <summary>Allocation log lines with stable event ids, so operators can alert on them.</summary>
internal static partial class AllocationLog
{
    /// <summary>Debug: the IPAllocated Event's line says the same once the Service is served; a retried apply that
    /// fails allocates again each time and must not fill the log.</summary>
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug,
        Message = "Allocated {Ip} to {Service} ({Reason}): {Bindings}")]
    public static partial void Allocated(ILogger logger, ServiceKey service, IPAddress ip, AllocationReason reason, IReadOnlyList<PortBinding> bindings);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "{Service} keeps {Ip}: nothing changed")]
    public static partial void Unchanged(ILogger logger, ServiceKey service, IPAddress ip);

    /// <summary>Debug: the reconciler records the refusal as a Warning Event, and that Event's log line carries these words.</summary>
    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "{Message}")]
    public static partial void Refused(ILogger logger, string message);

    /// <summary>Debug: removing a Service logs that at Information; a retried apply that fails releases each time.</summary>
    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug,
        Message = "Released {Bindings} of {Service}; IP {Ip} unused: {IpUnused}")]
    public static partial void Released(ILogger logger, ServiceKey service, IPAddress ip, IReadOnlyList<PortBinding> bindings, bool ipUnused);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Restored {Count} assignments")]
    public static partial void Restored(ILogger logger, int count);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Debug, Message = "Re-read {Count} assignments from the records ({Conflicts} conflicts, {Skipped} unreadable)")]
    public static partial void Reread(ILogger logger, int count, int conflicts, int skipped);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning,
        Message = "Could not restore {Ip} for {Service}: {Reason}")]
    public static partial void RestoreConflict(ILogger logger, ServiceKey service, IPAddress ip, string reason);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "{Service} left {Ip}, which no service uses now")]
    public static partial void Vacated(ILogger logger, ServiceKey service, IPAddress ip);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Not restoring {Service}: {Errors}")]
    public static partial void RestoreSkipped(ILogger logger, string service, string errors);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Pools reconfigured: {Pools}; every Service keeps its IP")]
    public static partial void PoolsReconfigured(ILogger logger, string pools);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning,
        Message = "Pool reconfiguration refused, the running pools are kept: {Reasons}")]
    public static partial void PoolsReconfigurationRefused(ILogger logger, string reasons);

    /// <summary>Debug: the reconciler records it as a Normal Event (FamilyUnavailable), whose log line says the same.</summary>
    [LoggerMessage(EventId = 1011, Level = LogLevel.Debug,
        Message = "{Service} prefers dual-stack and is served without {Family}: {Reason}")]
    public static partial void FamilyUnavailable(ILogger logger, ServiceKey service, IpFamily family, string reason);
}
