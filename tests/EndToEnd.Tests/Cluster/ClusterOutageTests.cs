using System.Diagnostics;
using System.Net;
using k8s;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// The API server away from the daemon binary (stopped, or cut off by a <see cref="TcpRelay"/>) while traffic flows,
/// then back: nothing served may stop, and what changed meanwhile must be caught up.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class ClusterOutageTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public void Dispose() => _folder.Delete(recursive: true);

    [KubeFact]
    public async Task ApiServerStoppedFor10Seconds_TrafficNeverFails_NoIpChanges_AndAServiceCreatedAfterwardsIsServed()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.208", "A");
        await cluster.CreateNodeAsync("worker", "127.0.0.208");
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.56/29");
        node.Serve(await cluster.CreateServiceAsync("web", [new ServicePort(8080)]));
        var ip = await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, "web", Limit, daemon.ToString);
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8080, "A:who", Limit), daemon.ToString());

        var clock = Stopwatch.StartNew();
        await using var client = new TrafficLoop(ip, 8080, "A:ping");
        var outage = daemon.LogLength;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            await cluster.Server.StopApiServerAsync();
            var stopped = clock.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(10));
            await cluster.Server.StartApiServerAsync();
            output.WriteLine($"figure: API server away {(clock.Elapsed - stopped).TotalSeconds:F2} s (10 s stopped, then its start until /readyz)");
        }
        finally
        {
            // The control plane is every test's: never leave it stopped.
            await cluster.Server.StartApiServerAsync();
        }

        var restarted = clock.Elapsed;
        node.Serve(await cluster.CreateServiceAsync("late", [new ServicePort(8081)]));
        var late = await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, "late", Limit, daemon.ToString);
        Assert.True(await Traffic.AnswersEventuallyAsync(late, 8081, "A:who", Limit), daemon.ToString());
        output.WriteLine($"figure: a Service created after the API server's restart served {(clock.Elapsed - restarted).TotalSeconds:F2} s after the restart");

        // Its status is written: from here on the API server authorises as the manifest says, and any 403 counts.
        var authorising = daemon.LogLength;

        await client.StopAsync();
        var (answered, failures) = (client.Answers, client.FailuresSince(TimeSpan.Zero));
        output.WriteLine($"figure: {answered} connections through the LoadBalancer IP during the outage and after, {failures.Count} failed");
        Assert.True(failures.Count == 0, $"failed connections at {string.Join(", ", failures)}; {daemon}");
        Assert.True(answered >= 50, $"only {answered} connections were made; {daemon}");
        Assert.Equal([ip], await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, "web"));
        Assert.Single(await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, "web"), e => e.Reason == "IPAllocated");
        Assert.False(daemon.Process.HasExited, daemon.ToString());
        var startup = ClusterDaemon.ForbiddenLines(daemon.Process.Error.ToString()[outage..authorising]);
        output.WriteLine($"figure: {startup.Count} log lines of 403 answers met while the API server started again");
        foreach (var line in startup.Take(3))
        {
            output.WriteLine($"  {line}");
        }

        daemon.AssertNeverForbiddenBut(outage, authorising);
    }

    [KubeFact]
    public async Task WatchExpiredByCompaction_WhileCutOff_TheDaemonRelists_AndConverges()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.209", "A");
        await cluster.CreateNodeAsync("worker", "127.0.0.209");
        await using var relay = TcpRelay.Start(new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Loopback, cluster.Server.Port));
        using var daemon = await ClusterDaemon.StartAsync(
            cluster, _folder.FullName, "127.0.127.64/29", apiServerUrl: $"https://127.0.0.1:{relay.Listening.Port}");
        node.Serve(await cluster.CreateServiceAsync("keep", [new ServicePort(8080)]));
        node.Serve(await cluster.CreateServiceAsync("gone", [new ServicePort(8081)]));
        node.Serve(await cluster.CreateServiceAsync("moved", [new ServicePort(8082)]));
        var ip = await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, "keep", Limit, daemon.ToString);
        foreach (var (name, port) in new[] { ("keep", 8080), ("gone", 8081), ("moved", 8082) })
        {
            Assert.Equal(ip, await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, name, Limit, daemon.ToString));
            Assert.True(await Traffic.AnswersEventuallyAsync(ip, port, "A:who", Limit), daemon.ToString());
        }

        relay.Cut();
        await cluster.Admin.CoreV1.DeleteNamespacedServiceAsync("gone", cluster.Namespace);
        node.Serve(await cluster.CreateServiceAsync("added", [new ServicePort(8084)]));
        var moved = await cluster.Admin.CoreV1.ReadNamespacedServiceAsync("moved", cluster.Namespace);
        moved.Spec.Ports[0].Port = 8083;
        moved.Spec.Ports[0].TargetPort = 8083;
        await cluster.Admin.CoreV1.ReplaceNamespacedServiceAsync(moved, "moved", cluster.Namespace);
        Assert.Equal("A:who", await Traffic.AskAsync(ip, 8080));
        Assert.Equal("A:who", await Traffic.AskAsync(ip, 8081));

        // Compacted, and restarted so that its watch cache starts at the present: the daemon's resourceVersion is gone
        // from both, and its watches are answered 410 Gone.
        var revision = await cluster.Server.CompactAsync();
        try
        {
            await cluster.Server.StopApiServerAsync();
        }
        finally
        {
            await cluster.Server.StartApiServerAsync();
        }

        Assert.True("A:who" == await Traffic.AskAsync(ip, 8080), $"not served while cut off, after the API server's restart; {daemon}");
        var clock = Stopwatch.StartNew();
        relay.Restore();

        var added = await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, "added", Limit, daemon.ToString);
        Assert.True(await Traffic.AnswersEventuallyAsync(added, 8084, "A:who", Limit), daemon.ToString());
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8081, null, Limit), daemon.ToString());
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8083, "A:who", Limit), daemon.ToString());
        Assert.True(await Traffic.AnswersEventuallyAsync(ip, 8082, null, Limit), daemon.ToString());
        output.WriteLine($"figure: converged (added served, deleted released, changed on its new port) {clock.Elapsed.TotalSeconds:F2} s after the relay was restored (etcd compacted at revision {revision})");

        Assert.True(await daemon.Process.LoggedAsync("Service: resourceVersion", Limit), daemon.ToString());
        Assert.Contains("is too old for the server (410 Gone); listing again now", daemon.Process.Error.ToString(), StringComparison.Ordinal);
        Assert.Equal("A:who", await Traffic.AskAsync(ip, 8080));
        Assert.Equal([ip], await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, "keep"));
        Assert.Equal([ip], await KubeObjects.IngressAsync(cluster.Admin, cluster.Namespace, "moved"));
        // Events are written in the background, after the status.
        await KubeObjects.EventEventuallyAsync(
            cluster.Admin, cluster.Namespace, "moved", e => e.Reason == "IPAllocated" && e.Note.EndsWith("for ports 8083", StringComparison.Ordinal), Limit, daemon.ToString);
        daemon.AssertNeverForbidden();
    }
}
