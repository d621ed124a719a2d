using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Nodes;

/// <summary>
/// Labels nodes as workers, so that <c>kubectl get nodes</c> shows a role for nodes that have none. Only the label is
/// patched (a merge patch), never the whole node, so nothing the kubelet writes meanwhile is overwritten. A node that
/// already carries the label, with whatever value, is left alone.
/// </summary>
internal sealed class WorkerNodeTagger(IKubernetes client, WorkerNodeOptions options, ILogger<WorkerNodeTagger> logger)
{
    /// <returns>
    /// True when there is nothing left to do (labelled now or before, or the node is gone); false when the API server
    /// could not be asked or refused, which is logged, and a later call may try again. It never throws but for
    /// cancellation, since callers run it in the background.
    /// </returns>
    public async Task<bool> TagAsync(V1Node node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        var name = node.Metadata?.Name;
        ArgumentException.ThrowIfNullOrEmpty(name, nameof(node));
        if (node.Metadata!.Labels?.ContainsKey(options.LabelKey) == true)
        {
            NodeLog.AlreadyLabelled(logger, name, options.LabelKey);
            return true;
        }

        var body = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [options.LabelKey] = options.LabelValue } },
        };
        try
        {
            await client.CoreV1.PatchNodeAsync(
                new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), name, fieldManager: options.FieldManager, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            NodeLog.Labelled(logger, name, options.LabelKey, options.LabelValue);
            return true;
        }
        catch (HttpOperationException failure) when (failure.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            NodeLog.NodeGone(logger, name);
            return true;
        }
        catch (Exception failure) when (failure is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            NodeLog.LabelFailed(logger, name, options.LabelKey, failure.Message);
            return false;
        }
    }
}
