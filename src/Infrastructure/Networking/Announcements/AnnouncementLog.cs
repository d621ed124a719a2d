using System.Net;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>The announcer's log lines, with stable EventIds 4101–4199.</summary>
internal static partial class AnnouncementLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Announced {Address} on {Interface} (index {Index}): {Sent} frames")]
    public static partial void Announced(ILogger logger, IPAddress address, string @interface, int index, int sent);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Could not open a socket to announce {Address} on {Interface} (index {Index}): error {Code} ({Reason})")]
    public static partial void SocketFailed(ILogger logger, IPAddress address, string @interface, int index, int code, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Could not announce {Address} on {Interface} (index {Index}): the device is gone or has no usable hardware address (error {Code}, {Reason})")]
    public static partial void DeviceUnavailable(ILogger logger, IPAddress address, string @interface, int index, int code, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Sending announcement {Attempt} of {Address} on {Interface} (index {Index}) failed: error {Code} ({Reason}); stopping this announcement")]
    public static partial void SendFailed(ILogger logger, int attempt, IPAddress address, string @interface, int index, int code, string reason);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Debug, Message = "Not announcing {Address} on {Interface}: the device is not Ethernet-like (hardware type {HardwareType})")]
    public static partial void NotEthernet(ILogger logger, IPAddress address, string @interface, int hardwareType);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Debug, Message = "Announcement of {Address} on {Interface} cancelled after {Sent} frames")]
    public static partial void Cancelled(ILogger logger, IPAddress address, string @interface, int sent);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "Not announcing {Address} on {Interface}: only IPv4 and IPv6 addresses can be announced")]
    public static partial void UnsupportedFamily(ILogger logger, IPAddress address, string @interface);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Error, Message = "Announcing {Address} on {Interface} failed unexpectedly")]
    public static partial void Failed(ILogger logger, Exception exception, IPAddress address, string @interface);
}
