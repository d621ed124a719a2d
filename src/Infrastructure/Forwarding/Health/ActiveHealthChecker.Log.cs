using LoadBalancer.Domain.Endpoints;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

internal sealed partial class ActiveHealthChecker
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "backend {Backend} of {Listener} is unhealthy after {Failures} failed checks")]
    private partial void LogBecameUnhealthy(Endpoint backend, string listener, int failures);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "backend {Backend} of {Listener} is healthy again after {Passes} passed checks")]
    private partial void LogBecameHealthy(Endpoint backend, string listener, int passes);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "backend {Backend} of {Listener} passed a check and is back after failed connects had ejected it")]
    private partial void LogEjectionEnded(Endpoint backend, string listener);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Debug, Message = "check of backend {Backend} of {Listener} failed")]
    private partial void LogCheckFailed(Endpoint backend, string listener);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "check of backend {Backend} of {Listener} threw; counted as failed")]
    private partial void LogProbeThrew(Endpoint backend, string listener, Exception exception);
}
