using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>The UDP engine's log messages: EventIds 2400–2449.</summary>
internal static partial class UdpLog
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Information,
        Message = "Listening on {Listener} (UDP, batches of {Batch} datagrams, policy {Policy}, {Backends} backends, flows idle out after {IdleTimeout}, at most {MaxFlows} flows)")]
    public static partial void ListenerStarted(ILogger logger, string listener, int batch, string policy, int backends, TimeSpan idleTimeout, int? maxFlows);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning,
        Message = "Dropped {Count} datagrams of new clients of {Listener} in the last {Seconds}s: the listener holds its maximum of {MaxFlows} flows")]
    public static partial void FlowLimitReached(ILogger logger, long count, string listener, long seconds, int? maxFlows);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Warning,
        Message = "Dropping datagrams of new clients of {Listener}: the listener holds its maximum of {MaxFlows} flows")]
    public static partial void FlowLimitReachedFirst(ILogger logger, string listener, int? maxFlows);

    [LoggerMessage(EventId = 2406, Level = LogLevel.Warning, Message = "{Listener}: {Count} more failed datagram calls in the last {Seconds}s")]
    public static partial void BatchFailuresRepeated(ILogger logger, long count, string listener, long seconds);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Error, Message = "The UDP loop of {Listener} failed; the listener forwards nothing more")]
    public static partial void LoopFailed(ILogger logger, Exception exception, string listener);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Warning, Message = "{Listener}: {Operation} failed with errno {Errno}; the datagrams of this batch are dropped")]
    public static partial void BatchFailed(ILogger logger, string listener, string operation, int errno);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Debug, Message = "{Listener}: {Count} flows closed ({Reason})")]
    public static partial void FlowsClosed(ILogger logger, string listener, int count, string reason);
}
