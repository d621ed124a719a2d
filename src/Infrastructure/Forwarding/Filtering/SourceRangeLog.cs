using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Filtering;

/// <summary>The source-range filter's log lines, with stable EventIds 2470–2489.</summary>
internal static partial class SourceRangeLog
{
    [LoggerMessage(EventId = 2470, Level = LogLevel.Information, Message = "Listener {Listener} admits clients only from {Ranges} (kernel socket filter)")]
    public static partial void Restricted(ILogger logger, string listener, string ranges);

    [LoggerMessage(EventId = 2471, Level = LogLevel.Information, Message = "Listener {Listener} admits clients from anywhere again: its source ranges were removed")]
    public static partial void Unrestricted(ILogger logger, string listener);

    [LoggerMessage(EventId = 2472, Level = LogLevel.Warning, Message = "Listener {Listener}: the kernel refused the source-range filter ({Reason}); clients outside {Ranges} are now refused at accept instead, with a close before any backend connect")]
    public static partial void FilterRefused(ILogger logger, string listener, string reason, string ranges);

    [LoggerMessage(EventId = 2473, Level = LogLevel.Error, Message = "Listener {Listener}: its source ranges were removed but the kernel kept the old filter ({Reason}); clients outside the old ranges are still dropped until the listener is restarted")]
    public static partial void FilterNotRemoved(ILogger logger, string listener, string reason);
}
