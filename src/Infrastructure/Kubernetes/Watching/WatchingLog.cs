using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>The informers' log lines, with stable EventIds 5101–5149.</summary>
internal static partial class WatchingLog
{
    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "{Kind}: listed {Count} objects in {Pages} pages at resourceVersion {ResourceVersion}: {Added} added, {Modified} modified, {Deleted} deleted")]
    public static partial void Listed(ILogger logger, string kind, int count, int pages, string resourceVersion, int added, int modified, int deleted);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "{Kind}: cache synced with {Count} objects at resourceVersion {ResourceVersion}")]
    public static partial void FirstSync(ILogger logger, string kind, int count, string resourceVersion);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "{Kind}: the list's continue token expired after {Pages} pages; listing again from the start")]
    public static partial void ListRestarted(ILogger logger, string kind, int pages);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "{Kind}: the API server answered the list with an error ({Reason}); retrying in {Delay}")]
    public static partial void ListFailed(ILogger logger, string kind, string reason, TimeSpan delay, Exception? exception);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Debug, Message = "{Kind}: watching from resourceVersion {ResourceVersion}")]
    public static partial void WatchStarted(ILogger logger, string kind, string resourceVersion);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Debug, Message = "{Kind}: the watch from resourceVersion {From} ended after {Events} events; watching again from {ResourceVersion}")]
    public static partial void WatchEnded(ILogger logger, string kind, string from, int events, string resourceVersion);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Warning, Message = "{Kind}: the watch from resourceVersion {From} ended at once without an event; watching again from {ResourceVersion} in {Delay}")]
    public static partial void WatchEndedEarly(ILogger logger, string kind, string from, string resourceVersion, TimeSpan delay);

    [LoggerMessage(EventId = 5108, Level = LogLevel.Information, Message = "{Kind}: resourceVersion {ResourceVersion} is too old for the server (410 Gone); listing again now")]
    public static partial void WatchExpired(ILogger logger, string kind, string resourceVersion);

    [LoggerMessage(EventId = 5109, Level = LogLevel.Warning, Message = "{Kind}: the watch sent nothing for {Silence}; restarting it from resourceVersion {ResourceVersion}")]
    public static partial void WatchSilent(ILogger logger, string kind, TimeSpan silence, string resourceVersion);

    [LoggerMessage(EventId = 5110, Level = LogLevel.Warning, Message = "{Kind}: the API server answered the watch with an error ({Reason}); watching again from resourceVersion {ResourceVersion} in {Delay}")]
    public static partial void WatchFailed(ILogger logger, string kind, string reason, string resourceVersion, TimeSpan delay, Exception? exception);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Warning, Message = "{Kind}: the watch sent an {Type} event; watching again from resourceVersion {ResourceVersion} in {Delay}")]
    public static partial void UnexpectedWatchEvent(ILogger logger, string kind, string type, string resourceVersion, TimeSpan delay);

    [LoggerMessage(EventId = 5112, Level = LogLevel.Error, Message = "{Kind}: a change handler threw on {ChangeType} {Key}; the informer goes on")]
    public static partial void ChangeHandlerFailed(ILogger logger, string kind, ChangeType changeType, string key, Exception exception);

    [LoggerMessage(EventId = 5113, Level = LogLevel.Error, Message = "{Kind}: a sync handler threw; the informer goes on")]
    public static partial void SyncHandlerFailed(ILogger logger, string kind, Exception exception);

    [LoggerMessage(EventId = 5114, Level = LogLevel.Warning, Message = "{Kind}: ignored an object without a name in a {Source}")]
    public static partial void NamelessObject(ILogger logger, string kind, string source);

    [LoggerMessage(EventId = 5115, Level = LogLevel.Warning, Message = "{Kind}: the API server did not answer the list ({Reason}); retrying in {Delay}, and at most every {Cap} while it does not answer")]
    public static partial void ListUnanswered(ILogger logger, string kind, string reason, TimeSpan delay, TimeSpan cap, Exception? exception);

    [LoggerMessage(EventId = 5116, Level = LogLevel.Warning, Message = "{Kind}: the API server did not answer the watch ({Reason}); watching again from resourceVersion {ResourceVersion} in {Delay}, and at most every {Cap} while it does not answer")]
    public static partial void WatchUnanswered(ILogger logger, string kind, string reason, string resourceVersion, TimeSpan delay, TimeSpan cap, Exception? exception);

    // Debug, not Warning: an outage retried every second would otherwise log a warning a second per kind.
    [LoggerMessage(EventId = 5117, Level = LogLevel.Debug, Message = "{Kind}: still no answer from the API server to the {Operation} after {Attempts} attempts ({Reason}); trying again in {Delay}")]
    public static partial void StillUnanswered(ILogger logger, string kind, string operation, int attempts, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 5118, Level = LogLevel.Information, Message = "{Kind}: the API server answers again, after {Attempts} attempts without an answer over {Duration}")]
    public static partial void AnsweredAgain(ILogger logger, string kind, int attempts, TimeSpan duration);

    [LoggerMessage(EventId = 5119, Level = LogLevel.Warning, Message = "{Kind}: resourceVersion {ResourceVersion} of the list just made is already too old for the server (410 Gone); listing again in {Delay}")]
    public static partial void ExpiredRightAfterList(ILogger logger, string kind, string resourceVersion, TimeSpan delay);
}
