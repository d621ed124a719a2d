using System.Net;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Admin;

// 7000-7099: the admin endpoint.
internal static partial class AdminLog
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "admin endpoint on http://{EndPoint}/ (status page /, /healthz, /readyz, /api/v1/state, /metrics; read-only)")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "the admin endpoint {EndPoint} is reachable from other machines: it is read-only and shows no secrets, but it shows every Service, address and backend; bind it to 127.0.0.1 or a management network, or set adminAddress: none")]
    public static partial void NotLoopback(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "the admin endpoint cannot listen on {EndPoint}: {Reason}; trying again in {Seconds} s (the daemon serves meanwhile)")]
    public static partial void CannotListen(ILogger logger, IPEndPoint endPoint, string reason, long seconds);
}
