using System.Diagnostics;
using System.Text.Json;
using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// The cluster scenarios of the fake-API-server tests (tests/Host.Tests/Cluster/ClusterModeTests.cs) again, on the real
/// API server with the real daemon binary: each test has its own /29 in 127.0.127.0/24 and its own Node addresses in
/// 127.0.0.200–215, where <see cref="NodePortBackends"/> answer on the NodePorts the API server allocated.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class ClusterScenarioTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public void Dispose() => _folder.Delete(recursive: true);

    [KubeFact]
    public async Task ConflictScenario_Svc2IsRefusedAtOnceWithTheOriginalsWords_Svc3TakesTheNextIp_Svc4SharesSvc1sIp_AndSvc2GetsItOnceReleased()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.200", "A");
        await cluster.CreateNodeAsync("worker", "127.0.0.200");
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.0/29");

        var clock = Stopwatch.StartNew();
        node.Serve(await cluster.CreateServiceAsync("svc1", [new ServicePort(8080)]));
        var first = await IngressAsync(cluster, "svc1", daemon);
        output.WriteLine($"figure: first Service served (status written) {clock.Elapsed.TotalSeconds:F2} s after its creation, daemon start included");

        clock.Restart();
        node.Serve(await cluster.CreateServiceAsync("svc2", [new ServicePort(8080)], loadBalancerIp: first));
        var refusal = await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "svc2", e => e.Type == "Warning", Limit, daemon.ToString);
        output.WriteLine($"figure: conflicting Service refused (Warning Event listed) {clock.Elapsed.TotalSeconds:F2} s after its creation");
        node.Serve(await cluster.CreateServiceAsync("svc3", [new ServicePort(8080)]));
        var third = await IngressAsync(cluster, "svc3", daemon);
        node.Serve(await cluster.CreateServiceAsync("svc4", [new ServicePort(8081)]));
        var fourth = await IngressAsync(cluster, "svc4", daemon);

        Assert.Equal("127.0.127.1", first);
        Assert.Equal(new EventLine(
                "Warning", "ApplyFailed", $"FAILED to allocate requested LoadBalancerIP {first}:8080 - Reason: IP:port {first}:8080 is already allocated",
                "littlelb.io/load-balancer", 1),
            refusal);
        Assert.True(await daemon.Process.LoggedAsync($"FAILED to allocate requested LoadBalancerIP {first}:8080", Limit), daemon.ToString());
        Assert.Equal("127.0.127.2", third);
        Assert.Equal(first, fourth);
        Assert.Empty(await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, "svc2"));
        Assert.Equal("A:who", await Traffic.AskAsync(first, 8080));
        Assert.Equal("A:who", await Traffic.AskAsync(third, 8080));
        Assert.Equal("A:who", await Traffic.AskAsync(first, 8081));

        // Refused once, then left alone while Services that cannot help it come: one attempt, one Event.
        Assert.Equal([refusal], await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, "svc2"));
        Assert.Equal(1, AllocationRefusals(daemon));

        clock.Restart();
        await cluster.Admin.CoreV1.DeleteNamespacedServiceAsync("svc1", cluster.Namespace);
        Assert.Equal(first, await IngressAsync(cluster, "svc2", daemon));
        output.WriteLine($"figure: refused Service took the released IP {clock.Elapsed.TotalSeconds:F2} s after the holder's deletion");
        Assert.True(await Traffic.AnswersEventuallyAsync(first, 8080, "A:who", Limit), daemon.ToString());
        Assert.Equal("A:who", await Traffic.AskAsync(first, 8081));
        var allocated = await KubeObjects.EventEventuallyAsync(
            cluster.Admin, cluster.Namespace, "svc2", e => e.Reason == "IPAllocated", Limit, daemon.ToString);
        Assert.Equal($"Assigned IP {first} (requested) for ports 8080", allocated.Note);
        daemon.AssertNeverForbidden();
    }

    [KubeFact]
    public async Task ClassFilter_ServesItsClass_AndNeverTouchesAnotherClassOrAnUnclassedService()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.201", "A");
        await cluster.CreateNodeAsync("worker", "127.0.0.201");
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.16/29");

        var theirs = node.Serve(await cluster.CreateServiceAsync("theirs", [new ServicePort(8081)], loadBalancerClass: $"other.example/{cluster.Id}"));
        var unclassed = node.Serve(await cluster.CreateServiceAsync("unclassed", [new ServicePort(8082)], loadBalancerClass: null));
        node.Serve(await cluster.CreateServiceAsync("ours", [new ServicePort(8080)]));
        var ip = await IngressAsync(cluster, "ours", daemon);
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "A:who", Limit), daemon.ToString());

        // The three were created together; by the time "ours" is served, the others have been seen. A while more for
        // a late write, then nothing may have touched them: no status, no Event, nothing in the daemon's state.
        await Task.Delay(TimeSpan.FromSeconds(3));
        foreach (var other in new[] { theirs, unclassed })
        {
            var now = await cluster.Admin.CoreV1.ReadNamespacedServiceAsync(other.Name(), cluster.Namespace);
            Assert.Equal(other.ResourceVersion(), now.ResourceVersion());
            Assert.Empty(await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, other.Name()));
            Assert.Empty(await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, other.Name()));
        }

        using var state = await daemon.StateAsync();
        Assert.Equal(["ours"], ServiceNames(state, cluster.Namespace));
        Assert.Null(await Traffic.AskAsync(ip, 8081));
        Assert.Null(await Traffic.AskAsync(ip, 8082));
        daemon.AssertNeverForbidden();
    }

    [KubeFact]
    public async Task TypeChangedToClusterIp_ReleasesTheIpAndClearsTheStatus_AndTheNextServiceGetsTheIp()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.202", "A");
        await cluster.CreateNodeAsync("worker", "127.0.0.202");
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.24/29");
        node.Serve(await cluster.CreateServiceAsync("web", [new ServicePort(8080)]));
        var ip = await IngressAsync(cluster, "web", daemon);
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "A:who", Limit), daemon.ToString());

        var clock = Stopwatch.StartNew();
        await cluster.Admin.CoreV1.PatchNamespacedServiceAsync(
            new V1Patch("""{"spec":{"type":"ClusterIP"}}""", V1Patch.PatchType.MergePatch), "web", cluster.Namespace);

        // The API server itself empties status.loadBalancer when the type leaves LoadBalancer; the daemon's part is the
        // listener and the IP.
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, null, Limit), daemon.ToString());
        Assert.True(await daemon.Process.LoggedAsync($"Removed {cluster.Namespace}/web (it had {ip})", Limit), daemon.ToString());
        output.WriteLine($"figure: IP released (listener gone, release logged) {clock.Elapsed.TotalSeconds:F2} s after the type change");
        var web = await cluster.Admin.CoreV1.ReadNamespacedServiceAsync("web", cluster.Namespace);
        Assert.Equal("ClusterIP", web.Spec.Type);
        Assert.Empty(web.Status?.LoadBalancer?.Ingress ?? []);

        node.Serve(await cluster.CreateServiceAsync("next", [new ServicePort(8080)]));
        Assert.Equal(ip, await IngressAsync(cluster, "next", daemon));
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "A:who", Limit), daemon.ToString());
        daemon.AssertNeverForbidden();
    }

    [KubeFact]
    public async Task NodeDeleted_GivesNoBackendsWarning_WithoutACrash_AndANewNodeBringsTrafficBack()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var first = new NodePortBackends("127.0.0.203", "A");
        await using var second = new NodePortBackends("127.0.0.204", "B");
        var worker = await cluster.CreateNodeAsync("worker", "127.0.0.203");
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.40/29");
        var web = await cluster.CreateServiceAsync("web", [new ServicePort(8080)]);
        first.Serve(web);
        second.Serve(web);
        var ip = await IngressAsync(cluster, "web", daemon);
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "A:who", Limit), daemon.ToString());

        var clock = Stopwatch.StartNew();
        await cluster.DeleteNodeAsync(worker);

        var warning = await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "NoBackends", Limit, daemon.ToString);
        output.WriteLine($"figure: NoBackends Warning listed {clock.Elapsed.TotalSeconds:F2} s after the Node's deletion");
        Assert.Equal("Warning", warning.Type);
        Assert.StartsWith("ports 8080 have no backends", warning.Note, StringComparison.Ordinal);
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, null, Limit), daemon.ToString());
        Assert.False(daemon.Process.HasExited, daemon.ToString());
        Assert.True(await daemon.ReadyAsync(), daemon.ToString());

        clock.Restart();
        await cluster.CreateNodeAsync("worker-2", "127.0.0.204");
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "B:who", Limit), daemon.ToString());
        output.WriteLine($"figure: traffic back through the new Node {clock.Elapsed.TotalSeconds:F2} s after its creation");
        await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "BackendsAvailable", Limit, daemon.ToString);
        Assert.Equal([ip], await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, "web"));
        Assert.Single(await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, "web"), e => e.Reason == "NoBackends");
        daemon.AssertNeverForbidden();
    }

    [KubeFact]
    public async Task TagWorkerNodes_LabelsANodeWithoutTheWorkerLabel_AtStartAndWhenItJoins_WithTheManifestsRights()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.206", "A");
        var early = await cluster.CreateNodeAsync("plain-1", "127.0.0.205", labelled: false);
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.48/29", flags: ["--tag-worker-nodes"]);

        var clock = Stopwatch.StartNew();
        Assert.True(await LabelledEventuallyAsync(cluster, early), daemon.ToString());
        output.WriteLine($"figure: Node present at start labelled {clock.Elapsed.TotalSeconds:F2} s after the daemon's start");
        clock.Restart();
        var late = await cluster.CreateNodeAsync("plain-2", "127.0.0.206", labelled: false);
        Assert.True(await LabelledEventuallyAsync(cluster, late), daemon.ToString());
        output.WriteLine($"figure: joining Node labelled {clock.Elapsed.TotalSeconds:F2} s after its creation");

        // Labelled, it is a worker of this daemon: its NodePort takes the traffic.
        node.Serve(await cluster.CreateServiceAsync("web", [new ServicePort(8080)]));
        var ip = await IngressAsync(cluster, "web", daemon);
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "A:who", Limit), daemon.ToString());
        Assert.True(await daemon.Process.LoggedAsync($"Labelled node {late} {TestCluster.WorkerLabel}={cluster.Id}", Limit), daemon.ToString());
        daemon.AssertNeverForbidden();
    }

    [KubeFact]
    public async Task EndpointSliceChurn_WithEndpointsBackends_ChangesTheBackendsTheDaemonShows()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.32/29", flags: ["--backends", "endpoints"]);
        await cluster.CreateServiceAsync("web", [new ServicePort(8080)]);
        (string?, int, string)[] ports = [(null, 8080, "TCP")];

        // EndpointSlices may not hold loopback addresses: TEST-NET pods nobody reaches, so the daemon's state, not
        // traffic, shows what it would forward to.
        var clock = Stopwatch.StartNew();
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, "192.0.2.10", "192.0.2.11");
        var ip = await IngressAsync(cluster, "web", daemon);
        Assert.True(await BackendsEventuallyAsync(daemon, cluster, ["192.0.2.10:8080 healthy", "192.0.2.11:8080 healthy"]), await StateTextAsync(daemon));
        output.WriteLine($"figure: first slice's two backends shown {clock.Elapsed.TotalSeconds:F2} s after it was written");

        clock.Restart();
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, "192.0.2.11");
        Assert.True(await BackendsEventuallyAsync(daemon, cluster, ["192.0.2.11:8080 healthy"]), await StateTextAsync(daemon));
        output.WriteLine($"figure: removed endpoint gone from the backends {clock.Elapsed.TotalSeconds:F2} s after the slice changed");

        clock.Restart();
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, [("192.0.2.11", false), ("192.0.2.12", true)]);
        Assert.True(await BackendsEventuallyAsync(daemon, cluster, ["192.0.2.12:8080 healthy"]), await StateTextAsync(daemon));
        output.WriteLine($"figure: not-ready endpoint out of the backends {clock.Elapsed.TotalSeconds:F2} s after the slice changed");

        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, [("192.0.2.12", false)]);
        var warning = await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "NoBackends", Limit, daemon.ToString);
        Assert.StartsWith("ports 8080 have no backends", warning.Note, StringComparison.Ordinal);
        Assert.True(await BackendsEventuallyAsync(daemon, cluster, []), await StateTextAsync(daemon));

        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, "192.0.2.13");
        Assert.True(await BackendsEventuallyAsync(daemon, cluster, ["192.0.2.13:8080 healthy"]), await StateTextAsync(daemon));
        await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "BackendsAvailable", Limit, daemon.ToString);
        Assert.Equal([ip], await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, "web"));
        daemon.AssertNeverForbidden();
    }

    private static Task<string> IngressAsync(TestCluster cluster, string name, ClusterDaemon daemon) =>
        KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, name, Limit, daemon.ToString);

    /// <summary>How many times the allocator refused: each attempt of a refused Service logs one line.</summary>
    private static int AllocationRefusals(ClusterDaemon daemon) =>
        daemon.Process.Error.ToString().ReplaceLineEndings("\n").Split('\n')
            .Count(line => line.Contains("AllocateLoadBalancerIpHandler[", StringComparison.Ordinal) && line.Contains("FAILED to allocate", StringComparison.Ordinal));

    private static Task<bool> LabelledEventuallyAsync(TestCluster cluster, string node) =>
        LoadBalancer.Host.Tests.Net.EventuallyAsync(
            async () => (await cluster.Admin.CoreV1.ReadNodeAsync(node)).Labels() is { } labels
                && labels.TryGetValue(TestCluster.WorkerLabel, out var value) && value == cluster.Id, Limit);

    private static IReadOnlyList<string> ServiceNames(JsonDocument state, string ns) =>
        [.. state.RootElement.GetProperty("state").GetProperty("services").EnumerateArray()
            .Where(service => service.GetProperty("namespace").GetString() == ns)
            .Select(service => service.GetProperty("name").GetString()!)];

    /// <summary>Waits until the state lists exactly <paramref name="expected"/> ("ADDRESS HEALTH") for web's one port.</summary>
    private static Task<bool> BackendsEventuallyAsync(ClusterDaemon daemon, TestCluster cluster, IReadOnlyList<string> expected) =>
        LoadBalancer.Host.Tests.Net.EventuallyAsync(async () => (await BackendsAsync(daemon, cluster)).SequenceEqual(expected), Limit);

    private static async Task<IReadOnlyList<string>> BackendsAsync(ClusterDaemon daemon, TestCluster cluster)
    {
        using var state = await daemon.StateAsync();
        var web = state.RootElement.GetProperty("state").GetProperty("services").EnumerateArray()
            .FirstOrDefault(service => service.GetProperty("namespace").GetString() == cluster.Namespace && service.GetProperty("name").GetString() == "web");
        if (web.ValueKind != JsonValueKind.Object || !web.TryGetProperty("ports", out var ports) || ports.GetArrayLength() == 0
            || !ports[0].TryGetProperty("backends", out var backends))
        {
            return ["(web or its port not in the state)"];
        }

        return [.. backends.EnumerateArray()
            .Select(backend => $"{backend.GetProperty("address").GetString()} {(backend.TryGetProperty("health", out var health) ? health.GetString() : "unchecked")}")
            .Order(StringComparer.Ordinal)];
    }

    private static async Task<string> StateTextAsync(ClusterDaemon daemon)
    {
        using var state = await daemon.StateAsync();
        return $"{state.RootElement}\n{daemon}";
    }
}
