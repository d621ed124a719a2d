using System.Net;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>The netlink link device's log lines, with stable EventIds 4001–4099.</summary>
internal static partial class NetlinkLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Link device {Device} chosen: {Reason}")]
    public static partial void DeviceSelected(ILogger logger, string device, string reason);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Link device {Device} (configured)")]
    public static partial void DeviceConfigured(ILogger logger, string device);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "No link device: {Reason}; load-balancer addresses cannot be added until --link-device names one")]
    public static partial void NoDevice(ILogger logger, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Added {Address}/{PrefixLength} to {Device} (prefix from the route to {Network}/{NetworkPrefix})")]
    public static partial void AddressAdded(ILogger logger, IPAddress address, int prefixLength, string device, IPAddress network, int networkPrefix);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Added {Address}/{PrefixLength} to {Device}: no route on {Device} covers it, so it holds only the address itself")]
    public static partial void AddressAddedAsHost(ILogger logger, IPAddress address, int prefixLength, string device);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "{Address} lies in {Network}/{NetworkPrefix}, which is routed through {OtherDevice}, not {Device}; it is added to {Device} as a host address, and neighbours on {OtherDevice}'s network will not reach it through {Device}")]
    public static partial void AddressInOtherSubnet(ILogger logger, IPAddress address, IPAddress network, int networkPrefix, string otherDevice, string device);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Debug, Message = "{Address} is already on {Device}")]
    public static partial void AddressAlreadyPresent(ILogger logger, IPAddress address, string device);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Removed {Address}/{PrefixLength} from {Device}")]
    public static partial void AddressRemoved(ILogger logger, IPAddress address, int prefixLength, string device);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Debug, Message = "{Address} is not on {Device}; nothing to remove")]
    public static partial void AddressAlreadyAbsent(ILogger logger, IPAddress address, string device);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Link device operation failed: {Reason}")]
    public static partial void OperationFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Put {Address}/{PrefixLength} back on {Device}: {Reason}")]
    public static partial void AddressRestored(ILogger logger, IPAddress address, int prefixLength, string device, string reason);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Error, Message = "Could not put {Address} back on {Device} ({Reason}): {Error}")]
    public static partial void RestoreFailed(ILogger logger, IPAddress address, string device, string reason, string error);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Error, Message = "The link notification monitor of {Device} failed; addresses removed by others may not be put back")]
    public static partial void MonitorFailed(ILogger logger, Exception exception, string device);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "Reading link notifications for {Device} failed: {Reason}")]
    public static partial void MonitorReceiveFailed(ILogger logger, string device, string reason);
}
