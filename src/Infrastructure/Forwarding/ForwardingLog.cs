using System.Net;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>The forwarder's log lines, with stable EventIds 2001–2099.</summary>
internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Listening on {Listener} ({Engine} engine, policy {Policy}, {Backends} backends)")]
    public static partial void ListenerStarted(ILogger logger, string listener, ForwardingEngine engine, string policy, int backends);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Listener {Listener} now has {Backends} backends, policy {Policy}")]
    public static partial void ListenerUpdated(ILogger logger, string listener, int backends, string policy);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Stopping {Listener}: draining {Connections} open connections for up to {DrainTimeout}")]
    public static partial void ListenerDraining(ILogger logger, string listener, long connections, TimeSpan drainTimeout);

    /// <summary>Only when connections were cut: a drain that ended early says so in 2030 or 2031 instead.</summary>
    [LoggerMessage(EventId = 2004, Level = LogLevel.Information,
        Message = "Stopped {Listener}: {Cut} connections were still open at the {DrainTimeout} deadline and were cut ({Finished} finished during the drain)")]
    public static partial void ListenerStoppedCutting(ILogger logger, string listener, long cut, TimeSpan drainTimeout, long finished);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Stopped {Listener}: drained, all {Finished} open connections finished, none was cut")]
    public static partial void ListenerDrained(ILogger logger, string listener, long finished);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Information, Message = "Stopped {Listener}: no connection was open")]
    public static partial void ListenerStoppedIdle(ILogger logger, string listener);

    /// <summary>The one line a stopped listener ends with: what was cut when anything was, else how the drain went.</summary>
    public static void ListenerStopped(ILogger logger, string listener, long openAtStart, long cut, TimeSpan drainTimeout)
    {
        // No connection is accepted once the drain begins, so those that were open then and are not cut have finished.
        var finished = Math.Max(0, openAtStart - cut);
        if (cut > 0)
        {
            ListenerStoppedCutting(logger, listener, cut, drainTimeout, finished);
        }
        else if (finished > 0)
        {
            ListenerDrained(logger, listener, finished);
        }
        else
        {
            ListenerStoppedIdle(logger, listener);
        }
    }

    // 2005-2007 repeat per connection, so each is the first line of a window (LogRateLimiter); 2013 and 2014 count the rest.
    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Connect from {Listener} to backend {Backend} failed: {Reason} (further failures of this backend are counted for 60 s)")]
    public static partial void ConnectFailed(ILogger logger, string listener, IPEndPoint backend, string reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "No backend of {Listener} accepted the connection after {Attempts} attempts; resetting the client (further such clients are counted for 60 s)")]
    public static partial void NoBackendAccepted(ILogger logger, string listener, int attempts);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Listener {Listener} has no backends; refusing connections with a reset (further refusals are counted for 60 s)")]
    public static partial void NoBackends(ILogger logger, string listener);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Accept on {Listener} failed with errno {Errno}; pausing accepts for 100 ms")]
    public static partial void AcceptFailed(ILogger logger, string listener, int errno);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Error, Message = "Forwarding event loop {Loop} failed; its connections were closed")]
    public static partial void EventLoopFailed(ILogger logger, Exception exception, int loop);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Listener {Listener} fell back to backends that failed their health checks: none is healthy (further such listeners are counted for 30 s)")]
    public static partial void AllBackendsUnhealthy(ILogger logger, string listener);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "Connection on {Listener} failed unexpectedly")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string listener);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "splice engine unavailable ({Reason}); using the copy engine")]
    public static partial void SpliceUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "io_uring engine unavailable ({Reason}); trying the splice engine")]
    public static partial void IoUringUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "io_uring loop {Loop}: the kernel refused the setup flags {Flags}; the ring runs without them")]
    public static partial void IoUringFlagsRefused(ILogger logger, int loop, string flags);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "refused {Count} connections to {Listener} in the last {Seconds} s: {Reason}")]
    public static partial void ConnectionsRefused(ILogger logger, long count, string listener, long seconds, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "{Count} more connects from {Listener} to backend {Backend} failed in the last {Seconds} s")]
    public static partial void ConnectsFailed(ILogger logger, long count, string listener, IPEndPoint backend, long seconds);

    // 2050-2052: out of file descriptors, one line per window for the whole forwarder (DescriptorExhaustion).
    [LoggerMessage(EventId = 2050, Level = LogLevel.Warning, Message = "Out of file descriptors: {Operation} on {Listener} failed with {Cause}. The soft limit RLIMIT_NOFILE is {Limit} (hard {Hard}); raise it with LimitNOFILE= in the systemd unit, `ulimit -n` in the shell that starts the daemon, or the container's nofile ulimit. Clients are reset meanwhile and not held against the backends (further such failures are counted for 60 s)")]
    public static partial void OutOfDescriptors(ILogger logger, string operation, string listener, string cause, string limit, string hard);

    [LoggerMessage(EventId = 2052, Level = LogLevel.Warning, Message = "Out of file descriptors for new connections: {Open} are open, as many as the open-files limit leaves room for (The soft limit RLIMIT_NOFILE is {Limit}; each connection holds up to {PerConnection} and {Reserved} are kept for the daemon itself). Clients of {Listener} and every other listener are refused until connections close; raise the limit with LimitNOFILE= in the systemd unit, `ulimit -n` in the shell that starts the daemon, or the container's nofile ulimit (further refusals are counted for 60 s)")]
    public static partial void ConnectionBudgetSpent(ILogger logger, string listener, int open, string limit, long reserved, int perConnection);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Warning, Message = "{Count} more clients were refused, or accepts or backend sockets failed, for want of file descriptors in the last {Seconds} s (soft RLIMIT_NOFILE {Limit}; see LimitNOFILE / ulimit -n)")]
    public static partial void DescriptorsStillExhausted(ILogger logger, long count, long seconds, string limit);

    /// <summary>Whole seconds for the summaries: a window of 60 s reads "60", not "60.0012".</summary>
    public static long Seconds(TimeSpan span) => (long)Math.Round(span.TotalSeconds, MidpointRounding.AwayFromZero);
}
