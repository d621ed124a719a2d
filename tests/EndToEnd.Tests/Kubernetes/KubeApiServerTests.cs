using k8s;
using k8s.Autorest;
using k8s.Models;

namespace LoadBalancer.EndToEnd.Tests.Kubernetes;

/// <summary>The fixture itself: a real API server that stores, authorises, allocates NodePorts and survives a restart.</summary>
[Collection(EndToEndTests.Name)]
public sealed class KubeApiServerTests(ControlPlaneFixture controlPlane)
{
    [KubeFact]
    public async Task ApiServer_AllocatesNodePorts_KeepsObjectsAcrossItsRestart_AndRefusesAnUnauthorisedServiceAccount()
    {
        var server = await controlPlane.ServerAsync();
        var ns = await server.CreateNamespaceAsync();
        using (var admin = server.AdminClient())
        {
            var version = await admin.Version.GetCodeAsync();
            Assert.StartsWith("v1.26.", version.GitVersion, StringComparison.Ordinal);

            var created = await admin.CoreV1.CreateNamespacedServiceAsync(
                new V1Service
                {
                    Metadata = new V1ObjectMeta { Name = "web" },
                    Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = 80, Protocol = "TCP" }] },
                },
                ns);
            Assert.InRange(created.Spec.Ports[0].NodePort ?? 0, 30000, 32767);
            await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "nobody" } }, ns);
        }

        await server.StopApiServerAsync();
        Assert.False(server.IsRunning);
        await server.StartApiServerAsync();

        using (var admin = server.AdminClient())
        {
            Assert.Equal("LoadBalancer", (await admin.CoreV1.ReadNamespacedServiceAsync("web", ns)).Spec.Type);
        }

        using var nobody = server.Client(await server.ServiceAccountTokenAsync(ns, "nobody"));
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => nobody.CoreV1.ListServiceForAllNamespacesAsync());
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.Response.StatusCode);
    }

    [KubeFact]
    public async Task Compaction_AnswersAWatchFromBeforeItWithGone()
    {
        var server = await controlPlane.ServerAsync();
        var ns = await server.CreateNamespaceAsync();
        using var admin = server.AdminClient();
        var before = (await admin.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        for (var i = 0; i < 3; i++)
        {
            await admin.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}" } }, ns);
        }

        Assert.True(await server.CompactAsync() > long.Parse(before, System.Globalization.CultureInfo.InvariantCulture));
        // The watch cache still holds recent events; a restarted API server starts with an empty one and asks etcd.
        await server.StopApiServerAsync();
        await server.StartApiServerAsync();

        using var fresh = server.AdminClient();
        var gone = await Assert.ThrowsAsync<HttpOperationException>(
            () => fresh.CoreV1.ListNamespacedConfigMapAsync(ns, resourceVersion: before, resourceVersionMatch: "Exact"));
        Assert.Equal(System.Net.HttpStatusCode.Gone, gone.Response.StatusCode);
    }
}
