using System.Net;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// The reconciler's log lines, with stable EventIds 5002–5019 (the range of the cluster controller it replaced, with
/// the same meanings where they carried over). Refusals, invalid Services and failures that are retried are not logged
/// here above Debug: the Event recorded for them is (one line per change, not per attempt).
/// </summary>
internal static partial class ReconcileLog
{
    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Restored {Restored} IPs from the record ({Conflicts} conflicts, {Skipped} unreadable)")]
    public static partial void Restored(ILogger logger, int restored, int conflicts, int skipped);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information,
        Message = "Every Service reconciled: {Applied} served, {Parked} waiting, {Addresses} addresses of pool {Pool} in use, in {ElapsedMs} ms")]
    public static partial void Ready(ILogger logger, int applied, int parked, int addresses, string pool, long elapsedMs);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Stood down: {Count} services no longer served here; their records are kept")]
    public static partial void StoodDown(ILogger logger, int count);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "Could not stop serving {Service}: {Reason}")]
    public static partial void StandDownFailed(ILogger logger, ServiceKey service, string reason);

    [LoggerMessage(EventId = 5016, Level = LogLevel.Information, Message = "Restored {Restored} IPs from the record, read while standing by ({Skipped} unreadable)")]
    public static partial void RestoredWhileStandingBy(ILogger logger, int restored, int skipped);

    [LoggerMessage(EventId = 5017, Level = LogLevel.Debug, Message = "Standing by: read {Restored} recorded IPs ({Conflicts} conflicts, {Skipped} unreadable) in {ElapsedMs} ms")]
    public static partial void ReadWhileStandingBy(ILogger logger, int restored, int conflicts, int skipped, long elapsedMs);

    [LoggerMessage(EventId = 5018, Level = LogLevel.Warning, Message = "Standing by: could not read the recorded IPs ({Reason}); the next term reads them when it starts")]
    public static partial void StandbyReadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 5015, Level = LogLevel.Error, Message = "Could not look for pool addresses left on the link after standing down: {Reason}")]
    public static partial void StaleSweepFailed(ILogger logger, string reason);

    /// <summary>Debug: the ApplyFailed Warning Event's line tells the operator, once; this adds when the first retry comes.</summary>
    [LoggerMessage(EventId = 5008, Level = LogLevel.Debug, Message = "{Service} is not served: {Reason}; retrying in {Delay}, and until it succeeds")]
    public static partial void Retrying(ILogger logger, ServiceKey service, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Debug, Message = "{Service} is still not served: {Reason}; retrying in {Delay}")]
    public static partial void StillFailing(ILogger logger, ServiceKey service, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "{Service} is served on {Ip} again")]
    public static partial void Recovered(ILogger logger, ServiceKey service, IPAddress ip);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Could not write the status of {Service}: {Reason}; retrying in {Delay}, and until it succeeds")]
    public static partial void StatusFailed(ILogger logger, ServiceKey service, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Debug, Message = "Still cannot write the status of {Service}: {Reason}; retrying in {Delay}")]
    public static partial void StatusStillFailing(ILogger logger, ServiceKey service, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Warning,
        Message = "Could not read the events already recorded ({Reason}); facts that are already on the Services may be reported again")]
    public static partial void HeldEventsUnreadable(ILogger logger, string reason);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Error, Message = "The source of Services could not start: {Reason}")]
    public static partial void SourceFailed(ILogger logger, string reason);
}
