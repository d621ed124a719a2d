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

    [KubeRootFact]
    public async Task MultiPortService_AndUdpService_AreBothServedToTheClient_EachPortByItsOwnNodePort()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        await small.StartDaemonAsync(small.Network.Lb1);
        await small.WaitReadyAsync(small.Network.Lb1);

        var multi = await small.CreateServiceAsync("multi", new ServicePort(80, Name: "http"), new ServicePort(443, Name: "https"));
        var dns = await small.CreateServiceAsync("dns", new ServicePort(53, "UDP"));
        var httpNodePort = multi.Spec.Ports.Single(p => p.Port == 80).NodePort!.Value;
        var httpsNodePort = multi.Spec.Ports.Single(p => p.Port == 443).NodePort!.Value;
        var dnsNodePort = dns.Spec.Ports[0].NodePort!.Value;
        foreach (var worker in small.Workers)
        {
            worker.ServeTcp(httpNodePort, "http");
            worker.ServeTcp(httpsNodePort, "https");
            worker.ServeUdp(dnsNodePort);
        }

        var multiIp = await small.IngressEventuallyAsync("multi");
        var dnsIp = await small.IngressEventuallyAsync("dns");
        output.WriteLine($"figure: multi at {multiIp} (80 → {httpNodePort}, 443 → {httpsNodePort}), dns at {dnsIp} (udp 53 → {dnsNodePort})");

        var sinceIngress = Stopwatch.StartNew();
        foreach (var (port, tag) in new[] { (80, "http"), (443, "https") })
        {
            string? first = null;
            Assert.True(
                await LoadBalancer.Host.Tests.Net.EventuallyAsync(async () => (first = await small.WhoAnswersAsync(multiIp, port)) is not null, SmallCluster.Limit),
                $"{multiIp}:{port} did not serve the client\n{small.Describe()}");
            var answers = new List<string?> { first };
            for (var connection = 0; connection < 5; connection++)
            {
                answers.Add(await small.WhoAnswersAsync(multiIp, port));
            }

            output.WriteLine($"figure: tcp {port}: {string.Join(", ", answers.GroupBy(a => a ?? "(none)").Select(g => $"{g.Key} ×{g.Count()}"))}");
            // Every answer came from this port's NodePort, on both nodes: no port was crossed with the other's.
            Assert.Equal(
                small.Workers.Select(worker => $"{worker.Name}/{tag}").Order(StringComparer.Ordinal),
                answers.Distinct().Order(StringComparer.Ordinal));
        }

        // A UDP flow per client address:port: several client sockets, each answered from the Service's IP:port.
        var udpAnswers = new List<string>();
        for (var flow = 0; flow < 6; flow++)
        {
            using var socket = small.Network.Client.UdpSocket();
            (string Text, System.Net.IPEndPoint From)? reply = null;
            Assert.True(
                await LoadBalancer.Host.Tests.Net.EventuallyAsync(
                    async () => (reply = await UdpAnswerer.AskAsync(socket, dnsIp, 53, $"query {flow}", TimeSpan.FromSeconds(1))) is not null,
                    SmallCluster.Limit),
                $"no UDP answer from {dnsIp}:53 for flow {flow}\n{small.Describe()}");
            Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(dnsIp), 53), reply!.Value.From);
            Assert.EndsWith($":query {flow}", reply.Value.Text, StringComparison.Ordinal);
            udpAnswers.Add(reply.Value.Text.Split(':')[0]);
        }

        output.WriteLine($"figure: udp 53, 6 flows: {string.Join(", ", udpAnswers.GroupBy(a => a).Select(g => $"{g.Key} ×{g.Count()}"))}; all served {sinceIngress.Elapsed.TotalMilliseconds:F0} ms after the status was written");
        Assert.Equal(small.Workers.Select(worker => worker.Name).Order(StringComparer.Ordinal), udpAnswers.Distinct().Order(StringComparer.Ordinal));
    }
}
