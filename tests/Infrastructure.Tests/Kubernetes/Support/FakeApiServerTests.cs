using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Tests.FakeKubernetesApi;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Support;

/// <summary>The fake API server against the real KubernetesClient: what other tests rely on it to do.</summary>
public sealed class FakeApiServerTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(20));
    private FakeApiServer _server = null!;
    private IKubernetes _client = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync(Ct);
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task ListServices_WithLimit_PagesThroughTheListAsItWasAtTheFirstPage()
    {
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
        {
            _server.PutService(Service(name));
        }

        var first = await _client.CoreV1.ListServiceForAllNamespacesAsync(limit: 2, cancellationToken: Ct);
        _server.PutService(Service("aa"));
        _server.DeleteService("default", "e");
        var second = await _client.CoreV1.ListServiceForAllNamespacesAsync(limit: 2, continueParameter: first.Metadata.ContinueProperty, cancellationToken: Ct);
        var third = await _client.CoreV1.ListServiceForAllNamespacesAsync(limit: 2, continueParameter: second.Metadata.ContinueProperty, cancellationToken: Ct);

        Assert.Equal(["a", "b"], Names(first));
        Assert.Equal(3, first.Metadata.RemainingItemCount);
        Assert.Equal(["c", "d"], Names(second));
        Assert.Equal(["e"], Names(third));
        Assert.Null(third.Metadata.ContinueProperty);
        Assert.All(new[] { second, third }, page => Assert.Equal(first.Metadata.ResourceVersion, page.Metadata.ResourceVersion));
        Assert.Equal(["a", "aa", "b", "c", "d"], Names(await _client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: Ct)));
    }

    [Fact]
    public async Task ListServices_ResourceVersion_IsTheLatestWriteOfAnyKind()
    {
        _server.PutService(Service("a"));
        _server.PutNode(Node("n1"));
        var put = _server.PutService(Service("b"));

        var list = await _client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: Ct);

        Assert.Equal("3", put.Metadata.ResourceVersion);
        Assert.Equal("3", list.Metadata.ResourceVersion);
        Assert.Equal(["a", "b"], Names(list));
        Assert.All(list.Items, item => Assert.False(string.IsNullOrEmpty(item.Metadata.Uid)));
    }

    [Fact]
    public async Task ListServices_InANamespace_ReturnsOnlyThatNamespace()
    {
        _server.PutService(Service("a"));
        _server.PutService(Service("b", ns: "other"));

        var list = await _client.CoreV1.ListNamespacedServiceAsync("other", cancellationToken: Ct);

        Assert.Equal(["b"], Names(list));
    }

    [Fact]
    public async Task WatchServices_FromAResourceVersion_ReceivesOnlyLaterEventsInOrderThenLiveOnes()
    {
        _server.PutService(Service("a"));
        var since = _server.PutService(Service("b")).Metadata.ResourceVersion;
        _server.PutService(Service("a", port: 81));
        _server.DeleteService("default", "b");
        _server.PutService(Service("c"));

        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: since, allowWatchBookmarks: true, timeoutSeconds: 30, onError: watch.OnError, cancellationToken: Ct));
        await watch.WaitForCountAsync(3);
        _server.PutService(Service("d"));
        await watch.WaitForCountAsync(4);

        Assert.Equal(
            [(WatchEventType.Modified, "a", "3"), (WatchEventType.Deleted, "b", "4"), (WatchEventType.Added, "c", "5"), (WatchEventType.Added, "d", "6")],
            watch.Events.Select(e => (e.Type, e.Object.Metadata.Name, e.Object.Metadata.ResourceVersion)));
        Assert.All(watch.Events, e => Assert.Equal(("v1", "Service"), (e.Object.ApiVersion, e.Object.Kind)));
        Assert.Empty(watch.Errors);
        var request = Assert.Single(_server.Requests, r => r.IsWatch);
        Assert.Equal(("/api/v1/services", "2", "true"), (request.Path, request.Query("resourceVersion"), request.Query("allowWatchBookmarks")));
    }

    [Fact]
    public async Task WatchServices_WithoutResourceVersion_StartsWithAnAddedForEveryCurrentObject()
    {
        _server.PutService(Service("a"));
        _server.PutService(Service("b"));

        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(cancellationToken: Ct));
        await watch.WaitForCountAsync(2);

        Assert.Equal([(WatchEventType.Added, "a"), (WatchEventType.Added, "b")], watch.Events.Select(e => (e.Type, e.Object.Metadata.Name)));
    }

    [Fact]
    public async Task WatchServices_AskingForBookmarks_ReceivesABookmarkWithTheCurrentResourceVersion()
    {
        var since = _server.PutService(Service("a")).Metadata.ResourceVersion;
        var withBookmarks = new WatchCollector<V1Service>();
        var withoutBookmarks = new WatchCollector<V1Service>();
        withBookmarks.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: since, allowWatchBookmarks: true, cancellationToken: Ct));
        withoutBookmarks.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: since, cancellationToken: Ct));
        await WaitUntilAsync(() => _server.OpenWatches == 2);
        _server.PutNode(Node("n1"));

        _server.SendBookmarks();
        await withBookmarks.WaitForCountAsync(1);
        _server.PutService(Service("b"));
        await withBookmarks.WaitForCountAsync(2);
        await withoutBookmarks.WaitForCountAsync(1);

        Assert.Equal((WatchEventType.Bookmark, "2"), (withBookmarks.Events[0].Type, withBookmarks.Events[0].Object.Metadata.ResourceVersion));
        Assert.Equal(("v1", "Service", null), (withBookmarks.Events[0].Object.ApiVersion, withBookmarks.Events[0].Object.Kind, withBookmarks.Events[0].Object.Metadata.Name));
        Assert.Equal((WatchEventType.Added, "b"), (withBookmarks.Events[1].Type, withBookmarks.Events[1].Object.Metadata.Name));
        Assert.Equal([(WatchEventType.Added, "b")], withoutBookmarks.Events.Select(e => (e.Type, e.Object.Metadata.Name)));
    }

    /// <summary>
    /// Pins down how KubernetesClient 21.0.8 surfaces the API server's 410: the HTTP answer is 200 and the ERROR line
    /// carries a Status. The client yields nothing for it, calls onError with a <see cref="KubernetesException"/> whose
    /// <c>Status.Code</c> is 410 and <c>Status.Reason</c> "Expired", and then the enumeration ends normally because the
    /// server closes the stream. Without onError the 410 is silently lost.
    /// </summary>
    [Fact]
    public async Task WatchServices_FromACompactedResourceVersion_CallsOnErrorWithA410KubernetesExceptionAndEndsWithoutEvents()
    {
        var old = _server.PutService(Service("a")).Metadata.ResourceVersion;
        _server.PutService(Service("b"));
        _server.PutService(Service("c"));
        _server.Compact();

        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: old, allowWatchBookmarks: true, onError: watch.OnError, cancellationToken: Ct));
        await watch.Completion.WaitAsync(Deadline, Ct);

        Assert.Empty(watch.Events);
        var error = Assert.IsType<KubernetesException>(Assert.Single(watch.Errors));
        Assert.Equal((410, "Expired", "Failure"), (error.Status.Code, error.Status.Reason, error.Status.Status));
        Assert.Equal("too old resource version: 1 (3)", error.Status.Message);
        Assert.Equal("too old resource version: 1 (3)", error.Message);
        Assert.Equal(0, _server.OpenWatches);
    }

    [Fact]
    public async Task WatchServices_FromTheCompactionPoint_IsNotTooOld()
    {
        _server.PutService(Service("a"));
        _server.Compact();
        var since = _server.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: since, onError: watch.OnError, cancellationToken: Ct));
        await WaitUntilAsync(() => _server.OpenWatches == 1);
        _server.PutService(Service("b"));
        await watch.WaitForCountAsync(1);

        Assert.Equal("b", watch.Events[0].Object.Metadata.Name);
        Assert.Empty(watch.Errors);
    }

    [Fact]
    public async Task ListServices_ContinuedAfterCompaction_Is410Expired()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            _server.PutService(Service(name));
        }

        var first = await _client.CoreV1.ListServiceForAllNamespacesAsync(limit: 1, cancellationToken: Ct);
        _server.PutService(Service("d"));
        _server.Compact();

        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.ListServiceForAllNamespacesAsync(limit: 1, continueParameter: first.Metadata.ContinueProperty, cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.Gone, error.Response.StatusCode);
        Assert.Equal("Expired", KubernetesJson.Deserialize<V1Status>(error.Response.Content).Reason);
    }

    [Fact]
    public async Task DropWatches_AfterAnEvent_EndsTheEnumerationWithoutError()
    {
        _server.PutService(Service("a"));
        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: "0", onError: watch.OnError, cancellationToken: Ct));
        await watch.WaitForCountAsync(1);

        _server.DropWatches();
        await watch.Completion.WaitAsync(Deadline, Ct);

        Assert.Equal(0, _server.OpenWatches);
        Assert.Empty(watch.Errors);
    }

    /// <summary>
    /// KubernetesClient 21.0.8 does not finish the watch request until the first line arrives (it peeks it while
    /// buffering the response). A stream that ends before any line therefore fails the enumeration itself with an
    /// <see cref="HttpRequestException"/> around an <see cref="EndOfStreamException"/>; onError is not called.
    /// </summary>
    [Fact]
    public async Task DropWatches_BeforeAnyEvent_FailsTheEnumerationWithHttpRequestException()
    {
        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: "1", onError: watch.OnError, cancellationToken: Ct));
        await WaitUntilAsync(() => _server.OpenWatches == 1);

        _server.DropWatches();
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => watch.Completion.WaitAsync(Deadline, Ct));

        Assert.IsType<EndOfStreamException>(error.InnerException);
        Assert.Empty(watch.Errors);
        Assert.Equal(0, _server.OpenWatches);
    }

    [Fact]
    public async Task Watch_WithTimeoutSeconds_EndsByItself()
    {
        _server.PutNode(Node("n1"));
        var watch = new WatchCollector<V1Node>();
        watch.Run(_client.CoreV1.WatchListNodeAsync(timeoutSeconds: 1, onError: watch.OnError, cancellationToken: Ct));

        await watch.Completion.WaitAsync(Deadline, Ct);

        Assert.Equal((WatchEventType.Added, "n1"), (Assert.Single(watch.Events).Type, watch.Events[0].Object.Metadata.Name));
        Assert.Equal(0, _server.OpenWatches);
    }

    [Fact]
    public async Task PatchServiceStatus_IsRecordedWithFieldManagerAndChangesOnlyTheStatus()
    {
        _server.PutService(Service("web"));
        var patched = new TaskCompletionSource<RecordedPatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.StatusPatched += patch => patched.TrySetResult(patch);
        const string Body = """{"spec":{"type":"NodePort"},"status":{"loadBalancer":{"ingress":[{"ip":"192.168.0.225","ipMode":"Proxy"}]}}}""";

        var answer = await _client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch(Body, V1Patch.PatchType.MergePatch), "web", "default", fieldManager: "little-lb", cancellationToken: Ct);

        var stored = _server.GetService("default", "web")!;
        Assert.Equal("192.168.0.225", stored.Status.LoadBalancer.Ingress.Single().Ip);
        Assert.Equal("Proxy", stored.Status.LoadBalancer.Ingress.Single().IpMode);
        Assert.Equal("LoadBalancer", stored.Spec.Type);
        Assert.Equal("2", stored.Metadata.ResourceVersion);
        Assert.Equal(stored.Metadata.ResourceVersion, answer.Metadata.ResourceVersion);
        var recorded = Assert.Single(_server.StatusPatches);
        Assert.Equal(("services", "default", "web", "status", "little-lb", 200), (recorded.Resource, recorded.Namespace, recorded.Name, recorded.Subresource, recorded.FieldManager, recorded.StatusCode));
        Assert.StartsWith("application/merge-patch+json", recorded.ContentType, StringComparison.Ordinal);
        Assert.Equal(Body, recorded.Body);
        Assert.Same(recorded, await patched.Task.WaitAsync(Deadline, Ct));
        Assert.Empty(_server.Patches);
    }

    [Fact]
    public async Task PatchServiceStatus_ThatChangesNothing_DoesNotBumpTheResourceVersion()
    {
        _server.PutService(Service("web"));
        var patch = new V1Patch("""{"status":{"loadBalancer":{"ingress":[{"ip":"192.168.0.225"}]}}}""", V1Patch.PatchType.MergePatch);

        var first = await _client.CoreV1.PatchNamespacedServiceStatusAsync(patch, "web", "default", cancellationToken: Ct);
        var second = await _client.CoreV1.PatchNamespacedServiceStatusAsync(patch, "web", "default", cancellationToken: Ct);

        Assert.Equal("2", first.Metadata.ResourceVersion);
        Assert.Equal("2", second.Metadata.ResourceVersion);
        Assert.Equal(2, _server.StatusPatches.Count);
    }

    [Fact]
    public async Task PatchServiceStatus_OfAMissingService_Is404AndRecorded()
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "missing", "default", cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
        Assert.Equal(404, Assert.Single(_server.StatusPatches).StatusCode);
    }

    [Fact]
    public async Task PatchNode_ChangesTheSpecNotTheStatusAndIsRecordedAsAPatch()
    {
        _server.PutNode(Node("n1", ready: true));

        var answer = await _client.CoreV1.PatchNodeAsync(
            new V1Patch("""{"metadata":{"labels":{"role":"edge"}},"status":{"conditions":[]}}""", V1Patch.PatchType.MergePatch), "n1", fieldManager: "little-lb", cancellationToken: Ct);

        Assert.Equal("edge", answer.Metadata.Labels["role"]);
        Assert.Single(_server.GetNode("n1")!.Status.Conditions);
        var recorded = Assert.Single(_server.Patches);
        Assert.Equal(("nodes", null, "n1", null, "little-lb"), (recorded.Resource, recorded.Namespace, recorded.Name, recorded.Subresource, recorded.FieldManager));
    }

    [Fact]
    public async Task Lease_CreateTwiceIsAlreadyExists_ReplaceWithAStaleVersionIsConflict()
    {
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoordinationV1.ReadNamespacedLeaseAsync("lb", "kube-system", cancellationToken: Ct));
        var created = await _client.CoordinationV1.CreateNamespacedLeaseAsync(Lease("lb", "me"), "kube-system", cancellationToken: Ct);
        var again = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoordinationV1.CreateNamespacedLeaseAsync(Lease("lb", "me"), "kube-system", cancellationToken: Ct));

        var current = await _client.CoordinationV1.ReadNamespacedLeaseAsync("lb", "kube-system", cancellationToken: Ct);
        current.Spec.HolderIdentity = "you";
        var replaced = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(current, "lb", "kube-system", cancellationToken: Ct);
        created.Spec.HolderIdentity = "stale";
        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoordinationV1.ReplaceNamespacedLeaseAsync(created, "lb", "kube-system", cancellationToken: Ct));

        AssertStatus(missing, HttpStatusCode.NotFound, "NotFound");
        AssertStatus(again, HttpStatusCode.Conflict, "AlreadyExists");
        AssertStatus(stale, HttpStatusCode.Conflict, "Conflict");
        Assert.NotEqual(created.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);
        Assert.Equal("you", _server.GetLease("kube-system", "lb")!.Spec.HolderIdentity);
    }

    [Fact]
    public async Task CreateEvent_InBothApiGroups_IsRecordedAndAnswered201()
    {
        var eventsV1 = new Eventsv1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.1", NamespaceProperty = "default" },
            EventTime = DateTime.UtcNow,
            Reason = "IPAllocated",
            Type = "Normal",
            Note = "192.168.0.225",
            Action = "Allocate",
            ReportingController = "little-lb",
            ReportingInstance = "me",
            Regarding = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = "default" },
        };
        var coreV1 = new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.2", NamespaceProperty = "default" },
            Reason = "AllocationFailed",
            Type = "Warning",
            Message = "no IPs",
            InvolvedObject = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = "default" },
        };

        var createdV1 = await _client.EventsV1.CreateNamespacedEventAsync(eventsV1, "default", cancellationToken: Ct);
        await _client.CoreV1.CreateNamespacedEventAsync(coreV1, "default", cancellationToken: Ct);
        await _client.EventsV1.PatchNamespacedEventAsync(new V1Patch("""{"series":{"count":2,"lastObservedTime":"2025-01-01T00:00:00.000000Z"}}""", V1Patch.PatchType.MergePatch), "web.1", "default", cancellationToken: Ct);

        Assert.Equal("IPAllocated", createdV1.Reason);
        Assert.Equal(
            [
                ("events.k8s.io/v1", "default", "web.1", "IPAllocated", "Normal", "192.168.0.225", "web", false, 201),
                ("v1", "default", "web.2", "AllocationFailed", "Warning", "no IPs", "web", false, 201),
                ("events.k8s.io/v1", "default", "web.1", "IPAllocated", "Normal", "192.168.0.225", "web", true, 200),
            ],
            _server.Events.Select(e => (e.ApiGroup, e.Namespace, e.Name, e.Reason, e.Type, e.Note, e.RegardingName, e.IsUpdate, e.StatusCode)));
        Assert.Contains("\"count\":2", _server.Events[2].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutEvent_IsListedAcrossNamespacesByLabel_InPages_AndNotRecordedAsSent()
    {
        Eventsv1Event Event(string ns, string name, string? managedBy) => new()
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = ns,
                Labels = managedBy is null ? null : new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = managedBy },
            },
            EventTime = DateTime.UtcNow,
            Reason = "IPAllocated",
            Regarding = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = ns },
        };
        _server.PutEvent(Event("shop", "web.1", "little-load-balancer"));
        _server.PutEvent(Event("blog", "web.2", "little-load-balancer"));
        _server.PutEvent(Event("blog", "web.3", "someone-else"));
        _server.PutEvent(Event("tools", "web.4", null));
        _server.PutEvent(Event("tools", "web.5", "little-load-balancer"));

        var first = await _client.EventsV1.ListEventForAllNamespacesAsync(
            labelSelector: "app.kubernetes.io/managed-by=little-load-balancer", limit: 2, cancellationToken: Ct);
        var second = await _client.EventsV1.ListEventForAllNamespacesAsync(
            continueParameter: first.Metadata.ContinueProperty, labelSelector: "app.kubernetes.io/managed-by=little-load-balancer", limit: 2, cancellationToken: Ct);

        Assert.Equal([("blog", "web.2"), ("shop", "web.1")], first.Items.Select(item => (item.Metadata.NamespaceProperty, item.Metadata.Name)));
        Assert.Equal([("tools", "web.5")], second.Items.Select(item => (item.Metadata.NamespaceProperty, item.Metadata.Name)));
        Assert.True(string.IsNullOrEmpty(second.Metadata.ContinueProperty));
        Assert.Empty(_server.Events);
    }

    [Fact]
    public async Task Unavailable_AnswersEveryRequestWith503AndEndsOpenWatches()
    {
        _server.PutService(Service("a"));
        var watch = new WatchCollector<V1Service>();
        watch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(onError: watch.OnError, cancellationToken: Ct));
        await watch.WaitForCountAsync(1);

        _server.Unavailable = true;
        await watch.Completion.WaitAsync(Deadline, Ct);
        var list = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: Ct));
        var rewatch = new WatchCollector<V1Service>();
        rewatch.Run(_client.CoreV1.WatchListServiceForAllNamespacesAsync(onError: rewatch.OnError, cancellationToken: Ct));
        var rewatchError = await Assert.ThrowsAsync<HttpOperationException>(() => rewatch.Completion.WaitAsync(Deadline, Ct));
        _server.Unavailable = false;

        AssertStatus(list, HttpStatusCode.ServiceUnavailable, "ServiceUnavailable");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rewatchError.Response.StatusCode);
        Assert.Single((await _client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: Ct)).Items);
        Assert.Contains(_server.Requests, request => request is { Method: "GET", Path: "/api/v1/services" } && !request.IsWatch);
    }

    [Theory]
    [InlineData("role=edge", new[] { "n1" })]
    [InlineData("role==edge", new[] { "n1" })]
    [InlineData("role!=edge", new[] { "n2", "n3" })]
    [InlineData("role", new[] { "n1", "n2" })]
    [InlineData("!role", new[] { "n3" })]
    [InlineData("role,zone=a", new[] { "n2" })]
    [InlineData("role in (edge,core)", new[] { "n1", "n2" })]
    [InlineData("role notin (edge)", new[] { "n2", "n3" })]
    public async Task ListNodes_WithALabelSelector_ReturnsOnlyMatchingNodes(string selector, string[] expected)
    {
        _server.PutNode(Node("n1", labels: new() { ["role"] = "edge" }));
        _server.PutNode(Node("n2", labels: new() { ["role"] = "core", ["zone"] = "a" }));
        _server.PutNode(Node("n3", labels: new() { ["zone"] = "a" }));

        var list = await _client.CoreV1.ListNodeAsync(labelSelector: selector, cancellationToken: Ct);

        Assert.Equal(expected, list.Items.Select(node => node.Metadata.Name));
    }

    [Fact]
    public async Task WatchNodes_WithALabelSelector_SeesNodesEnterAndLeaveTheSelection()
    {
        var since = _server.PutNode(Node("n1")).Metadata.ResourceVersion;
        _server.PutNode(Node("n2", labels: new() { ["role"] = "edge" }));
        _server.PutNode(Node("n1", labels: new() { ["role"] = "edge" }));
        _server.PutNode(Node("n2"));
        _server.PutNode(Node("n3"));

        var watch = new WatchCollector<V1Node>();
        watch.Run(_client.CoreV1.WatchListNodeAsync(resourceVersion: since, labelSelector: "role=edge", cancellationToken: Ct));
        await watch.WaitForCountAsync(3);
        _server.DeleteNode("n1");
        await watch.WaitForCountAsync(4);

        Assert.Equal(
            [(WatchEventType.Added, "n2"), (WatchEventType.Added, "n1"), (WatchEventType.Deleted, "n2"), (WatchEventType.Deleted, "n1")],
            watch.Events.Select(e => (e.Type, e.Object.Metadata.Name)));
    }

    [Fact]
    public async Task ListEndpointSlices_ReturnsWhatWasPut()
    {
        _server.PutEndpointSlice(new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "web-abc", Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "web" } },
            AddressType = "IPv4",
            Endpoints = [new V1Endpoint { Addresses = ["10.0.0.1"], Conditions = new V1EndpointConditions { Ready = true } }],
        });

        var all = await _client.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(cancellationToken: Ct);
        var selected = await _client.DiscoveryV1.ListNamespacedEndpointSliceAsync("default", labelSelector: "kubernetes.io/service-name=web", cancellationToken: Ct);

        var slice = Assert.Single(all.Items);
        Assert.Equal(("default", "10.0.0.1", true), (slice.Metadata.NamespaceProperty, slice.Endpoints.Single().Addresses.Single(), slice.Endpoints.Single().Conditions.Ready));
        Assert.Single(selected.Items);
    }

    [Fact]
    public void ReturnedObjects_AreCopiesThatCannotChangeTheStore()
    {
        var put = _server.PutService(Service("web"));
        put.Spec.Type = "ClusterIP";
        _server.GetService("default", "web")!.Spec.Type = "ClusterIP";

        Assert.Equal("LoadBalancer", _server.GetService("default", "web")!.Spec.Type);
        Assert.Null(_server.GetService("default", "missing"));
        Assert.True(_server.DeleteService("default", "web"));
        Assert.False(_server.DeleteService("default", "web"));
    }

    private static V1Service Service(string name, string? ns = null, int port = 80) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = port, Protocol = "TCP" }] },
    };

    private static V1Node Node(string name, Dictionary<string, string>? labels = null, bool ready = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
        Status = ready ? new V1NodeStatus { Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }] } : null,
    };

    private static V1Lease Lease(string name, string holder) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1LeaseSpec { HolderIdentity = holder, LeaseDurationSeconds = 15 },
    };

    private static string[] Names(V1ServiceList list) => [.. list.Items.Select(item => item.Metadata.Name)];

    private static void AssertStatus(HttpOperationException error, HttpStatusCode code, string reason)
    {
        Assert.Equal(code, error.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal(("Status", "Failure", reason, (int)code), (status.Kind, status.Status, status.Reason, status.Code));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var started = DateTime.UtcNow;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow - started < Deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }

    /// <summary>Runs a watch enumeration in the background and keeps what it yields and reports.</summary>
    private sealed class WatchCollector<T>
    {
        private readonly ConcurrentQueue<(WatchEventType Type, T Object)> _events = new();
        private readonly ConcurrentQueue<Exception> _errors = new();

        public Task Completion { get; private set; } = Task.CompletedTask;

        public IReadOnlyList<(WatchEventType Type, T Object)> Events => [.. _events];

        public IReadOnlyList<Exception> Errors => [.. _errors];

        public void OnError(Exception error) => _errors.Enqueue(error);

        public void Run(IAsyncEnumerable<(WatchEventType, T)> watch) => Completion = Task.Run(async () =>
        {
            await foreach (var item in watch)
            {
                _events.Enqueue(item);
            }
        });

        public async Task WaitForCountAsync(int count)
        {
            var started = DateTime.UtcNow;
            while (_events.Count < count)
            {
                Assert.True(DateTime.UtcNow - started < Deadline, $"got {_events.Count} of {count} watch events; completed: {Completion.IsCompleted} {Completion.Exception}");
                await Task.Delay(10);
            }
        }
    }
}
