using System.Diagnostics;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>The daemon's binary in lb1 serving the client namespace from the worker nodes' namespaces.</summary>
[Collection(EndToEndTests.Name)]
public sealed class ServingTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    [KubeRootFact]
    public async Task Service_IsPutOnLb1sLink_WrittenInItsStatus_AndServesTheClientFromBothNodes()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var network = small.Network;
        await small.StartDaemonAsync(network.Lb1);
        await small.WaitReadyAsync(network.Lb1);

        var sinceCreate = Stopwatch.StartNew();
        var service = await small.CreateServiceAsync("web", new ServicePort(80));
        var nodePort = service.Spec.Ports[0].NodePort!.Value;
        foreach (var worker in small.Workers)
        {
            worker.ServeTcp(nodePort);
        }

        string? first = null;
        var ip = await small.IngressEventuallyAsync("web");
        var served = await LoadBalancer.Host.Tests.Net.EventuallyAsync(async () => (first = await small.WhoAnswersAsync(ip, 80)) is not null, SmallCluster.Limit);
        var firstResponse = sinceCreate.Elapsed;
        Assert.True(served, $"the client was not served at {ip}:80 within {SmallCluster.Limit.TotalSeconds:F0} s\n{small.Describe()}");
        output.WriteLine($"figure: Service created → client's first response: {firstResponse.TotalMilliseconds:F0} ms");

        Assert.Equal("192.0.2.100", ip);
        Assert.True(network.Lb1.Has(ip), $"{ip} is not on lb1's {ClusterNetwork.Device}:\n{network.Lb1.Addresses()}");
        Assert.False(network.Lb2.Has(ip), network.Lb2.Addresses());
        Assert.Equal([ip], await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, "web"));
        // The client found the Service's address at lb1's link: the announcement (or lb1's ARP answer) names lb1's MAC.
        Assert.Contains($"{ip} dev {ClusterNetwork.Device} lladdr {network.Lb1.Mac}", network.Client.Neighbours(), StringComparison.Ordinal);

        var answers = new List<string?>();
        for (var connection = 0; connection < 10; connection++)
        {
            answers.Add(await small.WhoAnswersAsync(ip, 80));
        }

        output.WriteLine($"figure: 10 new connections served by: {string.Join(", ", answers.GroupBy(a => a ?? "(none)").Select(g => $"{g.Key} ×{g.Count()}"))}");
        Assert.All(answers, answer => Assert.NotNull(answer));
        Assert.Equal(
            small.Workers.Select(worker => worker.Name).Order(StringComparer.Ordinal),
            answers.Distinct().Order(StringComparer.Ordinal));
    }
}
