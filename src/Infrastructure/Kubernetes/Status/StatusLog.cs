using System.Net;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Status;

/// <summary>The status writer's log lines, with stable EventIds 5201–5219.</summary>
internal static partial class StatusLog
{
    [LoggerMessage(EventId = 5201, Level = LogLevel.Information, Message = "Wrote {Service} status: load-balancer ingress {Ip}")]
    public static partial void IngressWritten(ILogger logger, ServiceKey service, IReadOnlyList<IPAddress> ip);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Information, Message = "Cleared {Service} status: no load-balancer ingress")]
    public static partial void IngressCleared(ILogger logger, ServiceKey service);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Debug, Message = "{Service} status already holds load-balancer ingress {Ip}; nothing written")]
    public static partial void Unchanged(ILogger logger, ServiceKey service, IReadOnlyList<IPAddress> ip);

    [LoggerMessage(EventId = 5206, Level = LogLevel.Debug, Message = "{Service} status already holds no load-balancer ingress; nothing written")]
    public static partial void AlreadyCleared(ILogger logger, ServiceKey service);

    [LoggerMessage(EventId = 5204, Level = LogLevel.Debug, Message = "{Service} no longer exists; its status is not written")]
    public static partial void ServiceGone(ILogger logger, ServiceKey service);

    [LoggerMessage(EventId = 5205, Level = LogLevel.Information, Message = "Set {Service} spec.externalIPs to [{ExternalIps}]")]
    public static partial void ExternalIpsWritten(ILogger logger, ServiceKey service, IEnumerable<string> externalIps);

    [LoggerMessage(EventId = 5207, Level = LogLevel.Debug, Message = "{Service} status {Ip} not written: a later write of the Service came while it waited")]
    public static partial void Overtaken(ILogger logger, ServiceKey service, IReadOnlyList<IPAddress> ip);
}
