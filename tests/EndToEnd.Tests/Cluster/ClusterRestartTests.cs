using System.Diagnostics;
using k8s;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>The daemon binary killed or stopped and started again against the real API server: what its Services keep.</summary>
[Collection(EndToEndTests.Name)]
public sealed class ClusterRestartTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public void Dispose() => _folder.Delete(recursive: true);

    [KubeFact]
    public async Task Restart_AfterSigkillAndAfterSigterm_KeepsEveryIp_WritesNoStatus_AndRecordsNoNewEvent()
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        await using var node = new NodePortBackends("127.0.0.207", "A");
        await cluster.CreateNodeAsync("worker", "127.0.0.207");
        var token = await DeployManifestRbac.ApplyAsync(cluster.Server);
        (string Name, int Port)[] services = [("a", 8080), ("b", 8080), ("c", 8081)];
        var daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.8/29", token: token);
        try
        {
            var ips = new Dictionary<string, string>();
            foreach (var (name, port) in services)
            {
                node.Serve(await cluster.CreateServiceAsync(name, [new ServicePort(port)]));
                ips[name] = await KubeObjects.IngressEventuallyAsync(cluster.Admin, cluster.Namespace, name, Limit, daemon.ToString);
            }

            foreach (var (name, port) in services)
            {
                Assert.True(await Traffic.AnswersEventuallyAsync(ips[name], port, "A:who", Limit), daemon.ToString());
                await KubeObjects.EventEventuallyAsync(cluster.Admin, cluster.Namespace, name, e => e.Reason == "IPAllocated", Limit, daemon.ToString);
            }

            var before = await RecordAsync(cluster, services);
            daemon.AssertNeverForbidden();

            foreach (var signal in new[] { "KILL", "TERM" })
            {
                var clock = Stopwatch.StartNew();
                daemon.Process.Signal(signal);
                var exitCode = await daemon.Process.ExitCodeAsync(Limit);
                Assert.Equal(signal == "KILL" ? 137 : 0, exitCode);
                daemon.Dispose();
                daemon = await ClusterDaemon.StartAsync(cluster, _folder.FullName, "127.0.127.8/29", token: token);
                var started = clock.Elapsed;
                foreach (var (name, port) in services)
                {
                    Assert.True(await Traffic.AnswersEventuallyAsync(ips[name], port, "A:who", Limit), daemon.ToString());
                }

                output.WriteLine(
                    $"figure: after SIG{signal} every Service served again {clock.Elapsed.TotalSeconds:F2} s after the signal "
                    + $"({(clock.Elapsed - started).TotalSeconds:F2} s after the new process started)");

                // Served again; a while more for a late status write or Event, then nothing may have changed.
                Assert.True(await daemon.Process.LoggedAsync("Every Service reconciled", Limit), daemon.ToString());
                await Task.Delay(TimeSpan.FromSeconds(2));
                Assert.Equal(before, await RecordAsync(cluster, services));
                Assert.DoesNotContain("status: load-balancer ingress", daemon.Process.Error.ToString(), StringComparison.Ordinal);
                daemon.AssertNeverForbidden();
            }
        }
        finally
        {
            daemon.Dispose();
        }
    }

    /// <summary>
    /// What the API server holds about the Services: each one's resourceVersion (a status write, even one that
    /// rewrote the same IP with another field, would move it), its ingress IPs and its Events as kubectl lists them.
    /// </summary>
    private static async Task<string> RecordAsync(TestCluster cluster, IEnumerable<(string Name, int Port)> services)
    {
        var lines = new List<string>();
        foreach (var (name, _) in services)
        {
            var service = await cluster.Admin.CoreV1.ReadNamespacedServiceAsync(name, cluster.Namespace);
            var ingress = string.Join(",", service.Status?.LoadBalancer?.Ingress?.Select(entry => entry.Ip) ?? []);
            var events = string.Join("; ", await KubeObjects.EventsAsync(cluster.Admin, cluster.Namespace, name));
            lines.Add($"{name} rv {service.Metadata.ResourceVersion} ingress [{ingress}] events [{events}]");
        }

        return string.Join('\n', lines);
    }
}
