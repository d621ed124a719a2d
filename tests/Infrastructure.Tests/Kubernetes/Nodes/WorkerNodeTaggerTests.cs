using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Nodes;

public sealed class WorkerNodeTaggerTests : FakeApiServerTest
{
    private const string WorkerLabel = "node-role.kubernetes.io/worker";

    private readonly CapturingLogger<WorkerNodeTagger> _logger = new();
    [Fact]
    public async Task Tag_UnlabelledNode_MergePatchesOnlyTheWorkerLabel()
    {
        var node = Server.PutNode(Node("node-a", new Dictionary<string, string> { ["kubernetes.io/hostname"] = "node-a" }));
        var tagger = Tagger();

        var done = await tagger.TagAsync(node, CancellationToken.None);

        Assert.True(done);
        var patch = Assert.Single(Server.Patches);
        Assert.Equal(("nodes", (string?)null, "node-a", (string?)null), (patch.Resource, patch.Namespace, patch.Name, patch.Subresource));
        Assert.StartsWith("application/merge-patch+json", patch.ContentType, StringComparison.Ordinal);
        Assert.Equal("little-load-balancer", patch.FieldManager);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"metadata":{"labels":{"node-role.kubernetes.io/worker":""}}}"""), JsonNode.Parse(patch.Body)));

        var labels = Server.GetNode("node-a")!.Metadata.Labels;
        Assert.Equal("", labels[WorkerLabel]);
        Assert.Equal("node-a", labels["kubernetes.io/hostname"]);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5240 && entry.Level == LogLevel.Information);
    }

    [Fact]
    public async Task Tag_NodeWithoutAnyLabels_IsLabelled()
    {
        var node = Server.PutNode(Node("node-a", null));

        Assert.True(await Tagger().TagAsync(node, CancellationToken.None));

        Assert.True(Server.GetNode("node-a")!.Metadata.Labels.ContainsKey(WorkerLabel));
    }

    [Theory]
    [InlineData("")]
    [InlineData("true")]
    public async Task Tag_NodeAlreadyLabelled_SendsNoRequest(string value)
    {
        var node = Server.PutNode(Node("node-a", new Dictionary<string, string> { [WorkerLabel] = value }));
        var before = Server.Requests.Count;

        var done = await Tagger().TagAsync(node, CancellationToken.None);

        Assert.True(done);
        Assert.Equal(before, Server.Requests.Count);
        Assert.Equal(value, Server.GetNode("node-a")!.Metadata.Labels[WorkerLabel]);
    }

    [Fact]
    public async Task Tag_ConfiguredLabel_IsTheOnePatched()
    {
        var node = Server.PutNode(Node("node-a", new Dictionary<string, string> { [WorkerLabel] = "" }));
        var tagger = new WorkerNodeTagger(Client, new WorkerNodeOptions { LabelKey = "example.com/role", LabelValue = "lb-worker" }, _logger);

        Assert.True(await tagger.TagAsync(node, CancellationToken.None));

        Assert.Single(Server.Patches);
        Assert.Equal("lb-worker", Server.GetNode("node-a")!.Metadata.Labels["example.com/role"]);
    }

    [Fact]
    public async Task Tag_NodeDeletedMeanwhile_IsNothingToDo()
    {
        var node = Server.PutNode(Node("node-a", null));
        Server.DeleteNode("node-a");

        var done = await Tagger().TagAsync(node, CancellationToken.None);

        Assert.True(done);
        Assert.Equal(404, Assert.Single(Server.Patches).StatusCode);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5242 && entry.Level == LogLevel.Debug);
    }

    [Fact]
    public async Task Tag_ApiServerUnavailable_LogsAWarningAndReturnsFalse()
    {
        var node = Server.PutNode(Node("node-a", null));
        Server.Unavailable = true;

        var done = await Tagger().TagAsync(node, CancellationToken.None);

        Assert.False(done);
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Warning, 5243), (entry.Level, entry.EventId.Id));
    }

    [Fact]
    public async Task Tag_Cancelled_Throws()
    {
        var node = Server.PutNode(Node("node-a", null));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Tagger().TagAsync(node, cancelled.Token));
    }

    private WorkerNodeTagger Tagger() => new(Client, new WorkerNodeOptions(), _logger);

    private static V1Node Node(string name, IDictionary<string, string>? labels) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
    };
}
