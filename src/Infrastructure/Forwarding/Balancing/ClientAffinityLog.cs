using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>The log lines of client-IP affinity, with stable EventIds 2490–2499.</summary>
internal static partial class ClientAffinityLog
{
    [LoggerMessage(EventId = 2490, Level = LogLevel.Information,
        Message = "Listener {Listener} keeps each client IP on its backend while it is available, until {Timeout} after the client's last new connection (sessionAffinity ClientIP; first connections placed by {Policy}; at most {Capacity} clients remembered)")]
    public static partial void On(ILogger logger, string listener, TimeSpan timeout, string policy, int capacity);

    [LoggerMessage(EventId = 2491, Level = LogLevel.Information, Message = "Listener {Listener} no longer keeps clients on their backends (sessionAffinity None); {Entries} remembered clients forgotten")]
    public static partial void Off(ILogger logger, string listener, int entries);

    [LoggerMessage(EventId = 2492, Level = LogLevel.Information, Message = "Listener {Listener} now keeps clients on their backends until {Timeout} after their last new connection")]
    public static partial void TimeoutChanged(ILogger logger, string listener, TimeSpan timeout);

    // 2493 is the first line of a window (LogRateLimiter), 2494 counts the rest.
    [LoggerMessage(EventId = 2493, Level = LogLevel.Warning,
        Message = "Client affinity table of {Listener} is full ({Capacity} client IPs seen within the timeout): the {Evicted} least recently seen were forgotten and go to a backend of the policy's choice on their next connection (further evictions are counted for 60 s)")]
    public static partial void Evicted(ILogger logger, string listener, int capacity, int evicted);

    [LoggerMessage(EventId = 2494, Level = LogLevel.Warning, Message = "The client affinity table of {Listener} was full {Count} more times in the last {Seconds} s; least recently seen clients were forgotten each time")]
    public static partial void EvictedAgain(ILogger logger, string listener, long count, long seconds);
}
