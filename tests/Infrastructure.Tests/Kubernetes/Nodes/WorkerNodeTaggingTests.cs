using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Nodes;

public sealed class WorkerNodeTaggingTests : FakeApiServerTest
{
    private const string WorkerLabel = "node-role.kubernetes.io/worker";
    private const int Labelled = 5240;
    private const int AlreadyLabelled = 5241;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    private readonly FakeInformer<V1Node> _nodes = new();
    private readonly ObservedLogger<WorkerNodeTagger> _logger = new();

    [Fact]
    public async Task Run_TagsTheFirstListsNodesOnceEach_AndANodeThatJoinsLater_AndLeavesLabelledNodesAlone()
    {
        var a = Server.PutNode(Node("a", labelled: false));
        var b = Server.PutNode(Node("b", labelled: true));
        var c = Server.PutNode(Node("c", labelled: false));
        using var tagging = Tagging();
        await StartAsync(tagging);

        // The first list raises an addition for each node before it syncs, so each comes from both the cache and the
        // changes: it must still be tagged once.
        _nodes.Put(a);
        _nodes.Put(b);
        _nodes.Put(c);
        _nodes.Sync();
        await _logger.WaitForAsync(lines => Count(lines, Labelled) == 2 && Count(lines, AlreadyLabelled) == 1, Deadline);

        var d = Server.PutNode(Node("d", labelled: false));
        _nodes.Put(d);
        await _logger.WaitForAsync(lines => Count(lines, Labelled) == 3, Deadline);
        await tagging.StopAsync(CancellationToken.None);

        Assert.Equal(["a", "c", "d"], Server.Patches.Select(patch => patch.Name).Order());
        Assert.DoesNotContain(Server.Requests, request => request.Method == "PATCH" && request.Path.EndsWith("/nodes/b", StringComparison.Ordinal));
        Assert.All(["a", "b", "c", "d"], name => Assert.True(Server.GetNode(name)!.Metadata.Labels.ContainsKey(WorkerLabel)));
    }

    [Fact]
    public async Task Run_EveryNodeLabelled_SendsNoRequest()
    {
        var a = Server.PutNode(Node("a", labelled: true));
        var b = Server.PutNode(Node("b", labelled: true));
        _nodes.Seed(a);
        _nodes.Seed(b);
        using var tagging = Tagging();
        await StartAsync(tagging);
        var before = Server.Requests.Count;

        _nodes.Sync();
        await _logger.WaitForAsync(lines => Count(lines, AlreadyLabelled) == 2, Deadline);
        await tagging.StopAsync(CancellationToken.None);

        Assert.Equal(before, Server.Requests.Count);
    }

    [Fact]
    public async Task Run_ANodeCreatedAgainUnderItsName_IsANewNodeAndIsTaggedAgain()
    {
        var first = Server.PutNode(Node("a", labelled: false));
        _nodes.Seed(first);
        using var tagging = Tagging();
        await StartAsync(tagging);
        _nodes.Sync();
        await _logger.WaitForAsync(lines => Count(lines, Labelled) == 1, Deadline);

        Server.DeleteNode("a");
        _nodes.Delete(first);
        var again = Server.PutNode(Node("a", labelled: false));
        Assert.NotEqual(first.Metadata.Uid, again.Metadata.Uid);
        _nodes.Put(again);
        await _logger.WaitForAsync(lines => Count(lines, Labelled) == 2, Deadline);
        await tagging.StopAsync(CancellationToken.None);

        Assert.Equal(["a", "a"], Server.Patches.Select(patch => patch.Name));
    }

    [Fact]
    public async Task Stop_BeforeTheFirstList_EndsAndStopsListening()
    {
        using var tagging = Tagging();
        await StartAsync(tagging);
        Assert.True(_nodes.HasListeners);

        await tagging.StopAsync(CancellationToken.None).WaitAsync(Deadline);

        Assert.False(_nodes.HasListeners);
        Assert.Empty(Server.Patches);
    }

    /// <summary>Starts the service and waits until it listens: ExecuteAsync may start on another thread.</summary>
    private async Task StartAsync(WorkerNodeTagging tagging)
    {
        await tagging.StartAsync(CancellationToken.None);
        await _nodes.Subscribed.WaitAsync(Deadline);
    }

    private WorkerNodeTagging Tagging() => new(_nodes, new WorkerNodeTagger(Client, new WorkerNodeOptions { Tag = true }, _logger));

    private static int Count(IReadOnlyList<LogEntry> lines, int eventId) => lines.Count(line => line.EventId.Id == eventId);

    private static V1Node Node(string name, bool labelled) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = labelled ? new Dictionary<string, string> { [WorkerLabel] = "" } : new Dictionary<string, string> { ["kubernetes.io/hostname"] = name },
        },
    };
}
