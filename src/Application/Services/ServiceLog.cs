using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Services;

/// <summary>
/// Log lines of applying and removing Services, with stable event ids (3011-3099: the events-as-log-lines recorder
/// already uses 3001 and 3002).
/// </summary>
internal static partial class ServiceLog
{
    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Applied {Service} on {Ip}: {Listeners}")]
    public static partial void Applied(ILogger logger, ServiceKey service, IPAddress ip, ListenersText listeners);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Debug, Message = "{Service} unchanged on {Ip}")]
    public static partial void Unchanged(ILogger logger, ServiceKey service, IPAddress ip);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Could not apply {Service}: {Reason}")]
    public static partial void ApplyFailed(ILogger logger, ServiceKey service, string reason);

    /// <summary>Debug: the failure that caused it is reported (once) by the reconciler; retries would repeat this line.</summary>
    [LoggerMessage(EventId = 3014, Level = LogLevel.Debug, Message = "Undid the partial apply of {Service}")]
    public static partial void RolledBack(ILogger logger, ServiceKey service);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Error,
        Message = "Undoing the partial apply of {Service} left something behind: {Problem}")]
    public static partial void RollbackIncomplete(ILogger logger, ServiceKey service, string problem);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Debug, Message = "Stopped listener {Binding} of {Service}")]
    public static partial void ListenerStopped(ILogger logger, ServiceKey service, PortBinding binding);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Information, Message = "Added {Ip} to link {Device}")]
    public static partial void AddressAdded(ILogger logger, IPAddress ip, string device);

    [LoggerMessage(EventId = 3018, Level = LogLevel.Information, Message = "Removed {Ip} from link {Device}")]
    public static partial void AddressRemoved(ILogger logger, IPAddress ip, string device);

    [LoggerMessage(EventId = 3019, Level = LogLevel.Warning, Message = "Could not remove {Ip} from link {Device}: {Error}")]
    public static partial void AddressRemoveFailed(ILogger logger, IPAddress ip, string device, string error);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Removed {Service} (it had {Ip})")]
    public static partial void Removed(ILogger logger, ServiceKey service, IPAddress? ip);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Information, Message = "Removed stale address {Ip} from link {Device}: in the pool, wanted by no Service")]
    public static partial void StaleAddressRemoved(ILogger logger, IPAddress ip, string device);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Warning, Message = "Could not remove stale address {Ip} from link {Device}: {Error}")]
    public static partial void StaleAddressNotRemoved(ILogger logger, IPAddress ip, string device, string error);
}

/// <summary>Listeners as one log field, formatted only when the line is written.</summary>
internal readonly record struct ListenersText(IReadOnlyList<ListenerSpec> Listeners)
{
    public override string ToString() =>
        Listeners.Count == 0
            ? "no TCP listeners"
            : string.Join("; ", Listeners.Select(listener =>
                $"{listener.Binding} -> {(listener.Backends.Count == 0 ? "no backends" : string.Join(", ", listener.Backends))}"));
}
