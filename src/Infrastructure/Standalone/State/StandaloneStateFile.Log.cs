using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Standalone.State;

internal sealed partial class StandaloneStateFile
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "No state file yet at '{Path}'; Services get IPs as if for the first time")]
    private partial void LogNoStateFile(string path);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Read {Count} recorded IPs from the state file '{Path}'")]
    private partial void LogLoaded(int count, string path);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "State file '{Path}' is unreadable: {Reason}; renamed it to '{KeptAs}' and starting with no recorded IPs")]
    private partial void LogKeptAside(string path, string reason, string keptAs);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "State file '{Path}': {Entry} skipped: {Reason}")]
    private partial void LogEntrySkipped(string path, string entry, string reason);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Error, Message = "State file '{Path}' not written: {Reason}; the change is kept in memory and the next write tries again")]
    private partial void LogWriteFailed(string path, string reason);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Information, Message = "State file '{Path}' written again after a failed write")]
    private partial void LogWrittenAgain(string path);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Warning, Message = "Temporary state file '{Temporary}' left behind: {Reason}")]
    private partial void LogTemporaryFileLeft(string temporary, string reason);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Debug, Message = "Wrote {Count} recorded IPs to the state file '{Path}'")]
    private partial void LogWritten(int count, string path);
}
