using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Nodes;

public sealed class WorkerNodeTaggerTests : IAsyncLifetime
{
    private const string WorkerLabel = "node-role.kubernetes.io/worker";

    private readonly CapturingLogger<WorkerNodeTagger> _logger = new();
    private FakeApiServer _server = null!;
    private IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Tag_UnlabelledNode_MergePatchesOnlyTheWorkerLabel()
    {
        var node = _server.PutNode(Node("node-a", new Dictionary<string, string> { ["kubernetes.io/hostname"] = "node-a" }));
        var tagger = Tagger();

        var done = await tagger.TagAsync(node, CancellationToken.None);

        Assert.True(done);
        var patch = Assert.Single(_server.Patches);
        Assert.Equal(("nodes", (string?)null, "node-a", (string?)null), (patch.Resource, patch.Namespace, patch.Name, patch.Subresource));
        Assert.StartsWith("application/merge-patch+json", patch.ContentType, StringComparison.Ordinal);
        Assert.Equal("little-load-balancer", patch.FieldManager);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"metadata":{"labels":{"node-role.kubernetes.io/worker":""}}}"""), JsonNode.Parse(patch.Body)));

        var labels = _server.GetNode("node-a")!.Metadata.Labels;
        Assert.Equal("", labels[WorkerLabel]);
        Assert.Equal("node-a", labels["kubernetes.io/hostname"]);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5240 && entry.Level == LogLevel.Information);
    }

    [Fact]
    public async Task Tag_NodeWithoutAnyLabels_IsLabelled()
    {
        var node = _server.PutNode(Node("node-a", null));

        Assert.True(await Tagger().TagAsync(node, CancellationToken.None));

        Assert.True(_server.GetNode("node-a")!.Metadata.Labels.ContainsKey(WorkerLabel));
    }

    [Theory]
    [InlineData("")]
    [InlineData("true")]
    public async Task Tag_NodeAlreadyLabelled_SendsNoRequest(string value)
    {
        var node = _server.PutNode(Node("node-a", new Dictionary<string, string> { [WorkerLabel] = value }));
        var before = _server.Requests.Count;

        var done = await Tagger().TagAsync(node, CancellationToken.None);

        Assert.True(done);
        Assert.Equal(before, _server.Requests.Count);
        Assert.Equal(value, _server.GetNode("node-a")!.Metadata.Labels[WorkerLabel]);
    }

    [Fact]
    public async Task Tag_ConfiguredLabel_IsTheOnePatched()
    {
        var node = _server.PutNode(Node("node-a", new Dictionary<string, string> { [WorkerLabel] = "" }));
        var tagger = new WorkerNodeTagger(_client, new WorkerNodeOptions { LabelKey = "example.com/role", LabelValue = "lb-worker" }, _logger);

        Assert.True(await tagger.TagAsync(node, CancellationToken.None));

        Assert.Single(_server.Patches);
        Assert.Equal("lb-worker", _server.GetNode("node-a")!.Metadata.Labels["example.com/role"]);
    }

    [Fact]
    public async Task Tag_NodeDeletedMeanwhile_IsNothingToDo()
    {
        var node = _server.PutNode(Node("node-a", null));
        _server.DeleteNode("node-a");

        var done = await Tagger().TagAsync(node, CancellationToken.None);

        Assert.True(done);
        Assert.Equal(404, Assert.Single(_server.Patches).StatusCode);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5242 && entry.Level == LogLevel.Debug);
    }

    [Fact]
    public async Task Tag_ApiServerUnavailable_LogsAWarningAndReturnsFalse()
    {
        var node = _server.PutNode(Node("node-a", null));
        _server.Unavailable = true;

        var done = await Tagger().TagAsync(node, CancellationToken.None);

        Assert.False(done);
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Warning, 5243), (entry.Level, entry.EventId.Id));
    }

    [Fact]
    public async Task Tag_Cancelled_Throws()
    {
        var node = _server.PutNode(Node("node-a", null));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Tagger().TagAsync(node, cancelled.Token));
    }

    private WorkerNodeTagger Tagger() => new(_client, new WorkerNodeOptions(), _logger);

    private static V1Node Node(string name, IDictionary<string, string>? labels) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
    };
}
