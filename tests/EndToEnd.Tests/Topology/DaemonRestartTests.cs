using System.Diagnostics;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>The daemon in lb1 killed without a chance to clean up, then started again in its place.</summary>
[Collection(EndToEndTests.Name)]
public sealed class DaemonRestartTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    [KubeRootFact]
    public async Task DaemonSigkilledAndRestarted_KeepsEveryIp_AndServesTheClientAgain()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var lb1 = small.Network.Lb1;
        var daemon = await small.StartDaemonAsync(lb1);
        var web = await small.CreateServiceAsync("web", new ServicePort(80));
        var api = await small.CreateServiceAsync("api", new ServicePort(8080));
        foreach (var worker in small.Workers)
        {
            worker.ServeTcp(web.Spec.Ports[0].NodePort!.Value);
            worker.ServeTcp(api.Spec.Ports[0].NodePort!.Value);
        }

        var services = new[] { ("web", 80), ("api", 8080) };
        var before = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var (name, port) in services)
        {
            var ip = await small.IngressEventuallyAsync(name);
            Assert.True(await Net.EventuallyAsync(async () => await small.WhoAnswersAsync(ip, port) is not null, SmallCluster.Limit), small.Describe());
            before[name] = await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, name);
        }

        var sinceKill = Stopwatch.StartNew();
        daemon.Process.Kill();
        // Nothing ran to take the addresses away: the kernel keeps them, but no socket listens on them.
        var (webIp, webPort) = (before["web"][0], 80);
        Assert.True(lb1.Has(webIp), lb1.Addresses());
        Assert.Null(await small.WhoAnswersAsync(webIp, webPort));

        await small.StartDaemonAsync(lb1);
        var served = await Net.EventuallyAsync(async () => await small.WhoAnswersAsync(webIp, webPort) is not null, SmallCluster.Limit);
        var gap = sinceKill.Elapsed;
        Assert.True(served, $"the client was not served again within {SmallCluster.Limit.TotalSeconds:F0} s of the kill\n{small.Describe()}");
        output.WriteLine($"figure: SIGKILL → client served again by the restarted daemon: {gap.TotalMilliseconds:F0} ms");

        foreach (var (name, port) in services)
        {
            var ip = before[name][0];
            Assert.True(
                await Net.EventuallyAsync(async () => await small.WhoAnswersAsync(ip, port) is not null, SmallCluster.Limit),
                $"{name} at {ip}:{port} was not served after the restart\n{small.Describe()}");
            Assert.Equal(before[name], await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, name));
            Assert.True(lb1.Has(ip), lb1.Addresses());
        }

        output.WriteLine($"figure: status before and after: {string.Join(", ", before.Select(entry => $"{entry.Key} {string.Join('/', entry.Value)}"))}; every Service served {sinceKill.Elapsed.TotalMilliseconds:F0} ms after the kill");
    }
}
