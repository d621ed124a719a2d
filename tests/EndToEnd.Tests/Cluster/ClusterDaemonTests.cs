using LoadBalancer.EndToEnd.Tests.Kubernetes;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>The daemon binary against the real API server with the manifest's rights: the first Service it meets.</summary>
[Collection(EndToEndTests.Name)]
public sealed class ClusterDaemonTests(ControlPlaneFixture controlPlane) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public void Dispose() => _folder.Delete(recursive: true);

    [KubeFact]
    public async Task Service_GetsTheFirstPoolIp_InItsStatus_WithAnAllocatedEvent_AndNothingIsForbidden()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await cluster.CreateNodeAsync("worker", "127.0.0.2");
        using var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.126.0/29");

        await cluster.CreateServiceAsync("web", [new ServicePort(8080)]);
        var ip = await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, "web", Limit, daemon.ToString);

        Assert.Equal("127.0.126.1", ip);
        Assert.True(
            await LoadBalancer.Host.Tests.Net.EventuallyAsync(
                async () => (await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, "web")).Any(e => e.Reason == "IPAllocated"), Limit),
            string.Join('\n', await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, "web")) + daemon);
        // Ready once every Service is reconciled, which may come a moment after the Event.
        Assert.True(await LoadBalancer.Host.Tests.Net.EventuallyAsync(daemon.ReadyAsync, Limit), daemon.ToString());
        daemon.AssertNeverForbidden();
    }
}
