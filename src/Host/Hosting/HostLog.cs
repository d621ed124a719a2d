using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Hosting;

/// <summary>The host's log lines: 6001–6099 (docs/architecture.md).</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "configuration file {File} ({Reason})")]
    public static partial void ConfigurationFile(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "no configuration file: {Reason}")]
    public static partial void NoConfigurationFile(ILogger logger, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "{Limits}")]
    public static partial void FileDescriptors(ILogger logger, LoadBalancer.Infrastructure.Os.DescriptorLimitChange limits);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error, Message = "the daemon failed: {Reason}")]
    public static partial void DaemonFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "SIGHUP: reloading the configuration")]
    public static partial void Reloading(ILogger logger);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "reload refused, the running configuration is kept ({Count} problems): {Problems}")]
    public static partial void ReloadRefused(ILogger logger, int count, string problems);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Information, Message = "configuration reloaded: {Changes}")]
    public static partial void Reloaded(ILogger logger, string changes);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Warning, Message = "changed keys that take effect only at the next start: {Keys}")]
    public static partial void RestartNeeded(ILogger logger, string keys);

    [LoggerMessage(EventId = 6014, Level = LogLevel.Warning,
        Message = "{Signal} was ignored when the daemon started (nohup, or a parent that ignores it); it is handled from now on")]
    public static partial void InheritedSignalIgnoreCleared(ILogger logger, string signal);

    /// <summary>One line of the SIGUSR1 dump: one log entry per line, so that every log format keeps the table readable.</summary>

    [LoggerMessage(EventId = 6020, Level = LogLevel.Information, Message = "SIGUSR1 state: {Line}")]
    public static partial void StateDump(ILogger logger, string line);
}
