using System.Net;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

// One line per target, not per listener; the level of a verdict line is Warning (or Information) for the first change
// of a summary window and Debug for the others, which the summary counts (docs/observability.md).
internal sealed partial class HealthCheckRegistry
{
    [LoggerMessage(EventId = 2101, Message = "health check target {Target} is unhealthy after {Failures} failed {Check} checks; {Listeners} listeners use it, first {Listener}")]
    private partial void LogTargetUnhealthy(LogLevel level, IPEndPoint target, int failures, string check, int listeners, string listener);

    [LoggerMessage(EventId = 2102, Message = "health check target {Target} is healthy again after {Passes} passed {Check} checks; {Listeners} listeners use it, first {Listener}")]
    private partial void LogTargetHealthy(LogLevel level, IPEndPoint target, int passes, string check, int listeners, string listener);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "backend {Backend} of {Listener} passed a check and is back after failed connects had ejected it")]
    private partial void LogEjectionEnded(IPEndPoint backend, string listener);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Debug, Message = "{Check} check of {Target} failed")]
    private partial void LogCheckFailed(IPEndPoint target, string check);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "{Check} check of {Target} threw; counted as failed (further such errors are counted for 30 s)")]
    private partial void LogProbeThrew(IPEndPoint target, string check, Exception exception);

    [LoggerMessage(EventId = 2106,
        Message = "health: {Unhealthy} of {Targets} checked targets unhealthy, {Listeners} listeners affected ({Changes} more changes in the last {Seconds} s); first: {First}")]
    private partial void LogSummary(LogLevel level, int unhealthy, int targets, int listeners, long changes, long seconds, string first);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Error, Message = "{Count} more health checks threw in the last {Seconds} s; counted as failed")]
    private partial void LogProbesThrewAgain(long count, long seconds);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "{Count} more listeners fell back to backends that failed their health checks in the last {Seconds} s")]
    private partial void LogListenersFellBack(long count, long seconds);
}
