using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Nodes;

/// <summary>The worker node tagger's log lines, with stable EventIds 5240–5259.</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 5240, Level = LogLevel.Information, Message = "Labelled node {Node} {Label}={Value}")]
    public static partial void Labelled(ILogger logger, string node, string label, string value);

    [LoggerMessage(EventId = 5241, Level = LogLevel.Debug, Message = "Node {Node} already has label {Label}")]
    public static partial void AlreadyLabelled(ILogger logger, string node, string label);

    [LoggerMessage(EventId = 5242, Level = LogLevel.Debug, Message = "Node {Node} no longer exists; not labelled")]
    public static partial void NodeGone(ILogger logger, string node);

    [LoggerMessage(EventId = 5243, Level = LogLevel.Warning, Message = "Could not label node {Node} {Label}: {Error}")]
    public static partial void LabelFailed(ILogger logger, string node, string label, string error);
}
