using k8s.Models;
using Microsoft.Extensions.Hosting;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Kubernetes.Nodes;

/// <summary>
/// <c>--tag-worker-nodes</c>: labels every node of the first list that lacks the worker label, then each node that
/// joins later. It runs on every replica (labelling twice is harmless: a labelled node is left alone).
/// </summary>
internal sealed class WorkerNodeTagging(IResourceInformer<V1Node> nodes, WorkerNodeTagger tagger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        var joined = System.Threading.Channels.Channel.CreateUnbounded<V1Node>();
        void OnChanged(ResourceChange<V1Node> change)
        {
            if (change.Type == ChangeType.Added && change.New is { } added)
            {
                joined.Writer.TryWrite(added);
            }
        }

        // Each node once per run, by uid: the first list's nodes may come both from the cache and as additions, and a
        // node deleted and created again under its name is a new node.
        var tagged = new HashSet<string>(StringComparer.Ordinal);
        async Task TagOnceAsync(V1Node node)
        {
            var uid = node.Metadata?.Uid ?? node.Metadata?.Name ?? string.Empty;
            if (!tagged.Contains(uid) && await tagger.TagAsync(node, stopping).ConfigureAwait(false))
            {
                tagged.Add(uid);
            }
        }

        nodes.Changed += OnChanged;
        try
        {
            await nodes.WaitForSyncAsync(stopping).ConfigureAwait(false);
            foreach (var node in nodes.List())
            {
                await TagOnceAsync(node).ConfigureAwait(false);
            }

            await foreach (var node in joined.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                await TagOnceAsync(node).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            nodes.Changed -= OnChanged;
        }
    }
}
