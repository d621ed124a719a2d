using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>The elector's log lines, with stable EventIds 5301–5319 (none reused for another meaning).</summary>
internal sealed partial class LeaseElector
{
    [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "{Identity} is now the leader (Lease {Namespace}/{Name}): this replica owns the addresses")]
    private partial void LogStartedLeading(string identity, string @namespace, string name);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "{Identity} stopped leading")]
    private partial void LogStoppedLeading(string identity);

    [LoggerMessage(EventId = 5303, Level = LogLevel.Warning, Message = "{Identity} read the Lease held by {Holder} and stands down")]
    private partial void LogLostLease(string identity, string holder);

    [LoggerMessage(EventId = 5304, Level = LogLevel.Information, Message = "The leader is now {Leader}")]
    private partial void LogNewLeader(string leader);

    [LoggerMessage(EventId = 5305, Level = LogLevel.Information, Message = "{Identity} takes the Lease over from {Previous}")]
    private partial void LogTakingOver(string identity, string previous);

    [LoggerMessage(EventId = 5306, Level = LogLevel.Information, Message = "{Identity} released the Lease {Namespace}/{Name}")]
    private partial void LogReleased(string identity, string @namespace, string name);

    [LoggerMessage(EventId = 5307, Level = LogLevel.Warning, Message = "Could not release the Lease; it expires on its own: {Answer}")]
    private partial void LogReleaseFailed(LeaseAnswer answer);

    [LoggerMessage(EventId = 5308, Level = LogLevel.Debug, Message = "Lease {Request} failed: {Answer}")]
    private partial void LogLeaseRequestFailed(string request, LeaseAnswer answer);

    [LoggerMessage(EventId = 5309, Level = LogLevel.Error, Message = "Leading failed; releasing the Lease so that another replica can lead")]
    private partial void LogLeadFailed(Exception failure);

    [LoggerMessage(EventId = 5310, Level = LogLevel.Debug, Message = "Lease {Request} timed out: {Reason}")]
    private partial void LogLeaseTimedOut(string request, string? reason);

    [LoggerMessage(EventId = 5311, Level = LogLevel.Debug, Message = "Lease {Request} answered HTTP {Status} {Reason}")]
    private partial void LogLeaseRequestRefused(string request, int status, string? reason);

    // A Warning rather than Information: the leader forwards on a Lease it cannot renew, which an operator should see.
    [LoggerMessage(EventId = 5312, Level = LogLevel.Warning,
        Message = "{Identity} keeps leading: its Lease {Request} got {Answer}, which says nothing about the holder; it keeps the addresses and tries again every {RetryPeriodMs} ms")]
    private partial void LogLeaderKeepsLeading(string identity, string request, LeaseAnswer answer, double retryPeriodMs);

    [LoggerMessage(EventId = 5313, Level = LogLevel.Information, Message = "{Identity} ({Role}) gets usable answers about the Lease again, after {Looks} unanswered/unusable looks")]
    private partial void LogAnswersAgain(string identity, string role, int looks);

    [LoggerMessage(EventId = 5314, Level = LogLevel.Information,
        Message = "{Identity} (standby) cannot see the Lease: its {Request} got {Answer}; it stays a standby and keeps looking")]
    private partial void LogStandbyCannotLook(string identity, string request, LeaseAnswer answer);

    [LoggerMessage(EventId = 5315, Level = LogLevel.Information,
        Message = "{Identity}: the Lease {Request} now gets {Answer} (before: {Previous}), {Looks} unusable looks so far")]
    private partial void LogUnusableAnswerChanged(string identity, string request, LeaseAnswer answer, string previous, int looks);

    [LoggerMessage(EventId = 5316, Level = LogLevel.Warning, Message = "The Lease {Namespace}/{Name} is gone (404); {Identity}, the leader, creates it again")]
    private partial void LogLeaseDeleted(string @namespace, string name, string identity);

    [LoggerMessage(EventId = 5317, Level = LogLevel.Debug, Message = "{Identity}'s renewal conflicted (409); it reads the Lease")]
    private partial void LogRenewalConflicted(string identity);

    [LoggerMessage(EventId = 5318, Level = LogLevel.Warning, Message = "{Identity}'s lead returned while it still held the Lease; releasing it")]
    private partial void LogLeadReturned(string identity);

    [LoggerMessage(EventId = 5319, Level = LogLevel.Information, Message = "{Identity} finds the Lease in its own name (from before a restart) and takes it at once")]
    private partial void LogResuming(string identity);
}
