using k8s;
using System.Diagnostics;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// Events written in the background and their series, on the real API server with the manifest's rights: a warning that
/// comes back after it was resolved counts in the Event already made (events.k8s.io/v1 <c>series</c>) instead of making
/// another. Pool 127.0.132.0/29.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class EventSeriesTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public void Dispose() => _folder.Delete(recursive: true);

    [KubeFact]
    public async Task AWarningThatComesBack_CountsInTheSeriesOfItsFirstEvent()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.132.0/29", flags: ["--backends", "endpoints"]);
        await cluster.CreateServiceAsync("web", [new ServicePort(8080)]);
        (string?, int, string)[] ports = [(null, 8080, "TCP")];
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, "192.0.2.10");
        await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, "web", Limit, daemon.ToString);
        await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "IPAllocated", Limit, daemon.ToString);

        // No ready endpoint, then one, then none again, exactly as before: the same warning, told again.
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, [("192.0.2.10", false)]);
        var first = await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "NoBackends", Limit, daemon.ToString);
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, "192.0.2.10");
        await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, "web", e => e.Reason == "BackendsAvailable", Limit, daemon.ToString);
        var clock = Stopwatch.StartNew();
        await KubeObjects.PutSliceAsync(cluster.Admin, cluster.Namespace, "web", ports, [("192.0.2.10", false)]);
        var again = await KubeObjects.EventEventuallyAsync(
            cluster.Admin, cluster.Namespace, "web", e => e.Reason == "NoBackends" && e.Count == 2, Limit, daemon.ToString);
        output.WriteLine($"figure: the repeated warning counted in its Event's series {clock.Elapsed.TotalSeconds:F2} s after the slice changed");

        Assert.Equal(1, first.Count);
        Assert.Equal(first with { Count = 2 }, again);
        Assert.Single(await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, "web"), e => e.Reason == "NoBackends");
        var stored = (await cluster.Admin.EventsV1.ListNamespacedEventAsync(cluster.Namespace, fieldSelector: "regarding.name=web,reason=NoBackends")).Items;
        var series = Assert.Single(stored).Series;
        Assert.True(series.LastObservedTime > stored[0].EventTime, $"{series.LastObservedTime:O} after {stored[0].EventTime:O}");
        daemon.AssertNeverForbidden();
    }
}
