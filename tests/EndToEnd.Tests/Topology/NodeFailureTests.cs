using System.Diagnostics;
using System.Text.RegularExpressions;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Cluster;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>A worker node lost, or one refusing its NodePort, while the client keeps opening connections.</summary>
[Collection(EndToEndTests.Name)]
public sealed class NodeFailureTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const int Port = 80;

    [KubeRootFact]
    public async Task NodeLinkDownAndNodeDeleted_NewConnectionsGoToNode2WithoutErrors_AndAnOpenConnectionOnNode2Survives()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var daemon = await small.StartDaemonAsync(small.Network.Lb1);
        var (ip, _) = await ServeWebAsync(small);

        using var kept = await OpenOnAsync(small, ip, small.Node2);
        Assert.Equal($"{small.Node2.Name}:before", await kept.AskAsync("before"));

        var mark = daemon.Process.Error.ToString().Length;
        var sinceFailure = Stopwatch.StartNew();
        small.Node1.Machine.SetLink(up: false);
        await small.Cluster.DeleteNodeAsync(small.Node1.Name);
        Assert.Equal($"{small.Node2.Name}:during", await kept.AskAsync("during"));

        // The daemon noticed when it applied the listener's new backend set: node2 alone.
        var noticed = await Net.EventuallyAsync(
            () => Regex.IsMatch(daemon.Process.Error.ToString()[mark..], $@"Listener {Regex.Escape(ip)}:{Port} [^\n]*now has 1 backends"),
            SmallCluster.Limit);
        var noticedAfter = sinceFailure.Elapsed;
        Assert.True(noticed, $"the daemon did not drop node1 within {SmallCluster.Limit.TotalSeconds:F0} s\n{small.Describe()}");
        output.WriteLine($"figure: node1's link down and Node deleted → daemon's backends node2 alone: {noticedAfter.TotalMilliseconds:F0} ms");

        var (answers, slowest) = await NewConnectionsAsync(small, ip, 20);
        output.WriteLine($"figure: 20 new connections after it noticed: {Summary(answers)}; slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.All(answers, answer => Assert.Equal(small.Node2.Name, answer));

        Assert.Equal($"{small.Node2.Name}:after", await kept.AskAsync("after"));
        output.WriteLine($"figure: the connection kept on node2 answered before, during and after ({sinceFailure.Elapsed.TotalMilliseconds:F0} ms after the failure)");
    }

    [KubeRootFact]
    public async Task BackendRefusing_OnNode1_IsRetriedOnNode2_AndTheClientSeesNoError()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var daemon = await small.StartDaemonAsync(small.Network.Lb1);
        var (ip, nodePort) = await ServeWebAsync(small);

        // Node1 stays up and Ready in the API; only its NodePort refuses (a RST to the daemon's SYN).
        await small.Node1.StopTcpAsync(nodePort);
        var (answers, slowest) = await NewConnectionsAsync(small, ip, 20);
        output.WriteLine($"figure: 20 new connections with node1 refusing: {Summary(answers)}; slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.All(answers, answer => Assert.Equal(small.Node2.Name, answer));

        // The answers were not luck: the daemon did try node1 and went on to node2 within the same client connection.
        var log = daemon.Process.Error.ToString();
        Assert.True(
            log.Contains($"to backend {small.Node1.Machine.Ip}:{nodePort} failed", StringComparison.Ordinal),
            $"no failed connect to node1 was logged: were the connections retried at all?\n{small.Describe()}");
        output.WriteLine($"figure: failed connects to node1 logged: {CountOf(log, $"{small.Node1.Machine.Ip}:{nodePort}")} lines mention it");
    }

    /// <summary>A Service on port 80 served by both nodes, once the client is served; its IP and NodePort.</summary>
    private static async Task<(string Ip, int NodePort)> ServeWebAsync(SmallCluster small)
    {
        var service = await small.CreateServiceAsync("web", new ServicePort(Port));
        var nodePort = service.Spec.Ports[0].NodePort!.Value;
        foreach (var worker in small.Workers)
        {
            worker.ServeTcp(nodePort);
        }

        var ip = await small.IngressEventuallyAsync("web");
        Assert.True(
            await Net.EventuallyAsync(async () => await small.WhoAnswersAsync(ip, Port) is not null, SmallCluster.Limit),
            $"the client was not served at {ip}:{Port}\n{small.Describe()}");
        return (ip, nodePort);
    }

    /// <summary>A connection from the client that the balancer gave to <paramref name="worker"/> (round robin: one of the next few).</summary>
    private static async Task<EchoConnection> OpenOnAsync(SmallCluster small, string ip, WorkerNode worker)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var connection = await small.OpenFromClientAsync(ip, Port);
            if (connection is not null && await connection.AskAsync("who") is { } answer && answer.StartsWith(worker.Name + ":", StringComparison.Ordinal))
            {
                return connection;
            }

            connection?.Dispose();
        }

        throw new InvalidOperationException($"10 connections and none reached {worker}\n{small.Describe()}");
    }

    private static async Task<(List<string?> Answers, TimeSpan Slowest)> NewConnectionsAsync(SmallCluster small, string ip, int count)
    {
        var answers = new List<string?>();
        var slowest = TimeSpan.Zero;
        for (var connection = 0; connection < count; connection++)
        {
            var took = Stopwatch.StartNew();
            answers.Add(await small.WhoAnswersAsync(ip, Port));
            slowest = took.Elapsed > slowest ? took.Elapsed : slowest;
        }

        return (answers, slowest);
    }

    private static string Summary(IEnumerable<string?> answers) =>
        string.Join(", ", answers.GroupBy(answer => answer ?? "(error)").Select(group => $"{group.Key} ×{group.Count()}"));

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
