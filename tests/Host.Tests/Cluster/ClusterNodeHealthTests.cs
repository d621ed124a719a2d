using System.Net;
using System.Net.Sockets;
using k8s.Models;
using LoadBalancer.Domain.Services;
using LoadBalancer.Tests.FakeKubernetesApi;
using static LoadBalancer.Host.Tests.Cluster.ClusterObjects;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// Which nodes take a Service's traffic in NodePorts mode, end to end: kube-proxy's healthz on a Local Service's
/// healthCheckNodePort, and the node label that excludes a node from external load balancers. The "nodes" are loopback
/// addresses, each with an echo server on the NodePort and, for Local, a kube-proxy-like healthz server.
/// </summary>
public sealed class ClusterNodeHealthTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    private FakeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Local_NodeWhoseKubeProxyAnswers503_GetsNoTraffic_AndGetsItBackWhenItAnswers200()
    {
        // Both nodes are in the EndpointSlice, as they are while the slice lags behind a pod that went; only kube-proxy's
        // answer tells them apart. Both NodePorts accept, so the TCP check of the NodePort would pass both.
        var nodePorts = OnOnePort(["127.0.0.170", "127.0.0.171"], (address, port, index) => new EchoBackend(index == 0 ? "A" : "B", address, port), echo => echo.Port);
        var healthz = OnOnePort(["127.0.0.170", "127.0.0.171"], (address, port, index) => new KubeProxyHealthz(address, port, index == 0 ? 1 : 0), server => server.Port);
        await using var nodePortA = nodePorts[0];
        await using var nodePortB = nodePorts[1];
        await using var healthzA = healthz[0];
        await using var healthzB = healthz[1];
        _api.PutNode(Node("node-a", "127.0.0.170"));
        _api.PutNode(Node("node-b", "127.0.0.171"));
        _api.PutService(LocalService(nodePortA.Port, healthzA.Port));
        _api.PutEndpointSlice(SliceOnNodes(("10.244.1.5", "node-a"), ("10.244.2.5", "node-b")));
        await using var daemon = ClusterHarness.Start(_api, "127.0.124.0/29");
        await daemon.ReadyAsync();
        var ip = await IngressEventuallyAsync("web");

        Assert.True(await Net.EventuallyAsync(async () => await AllAnsweredByAsync(ip, "A", 10), Limit), daemon.Log.ToString());
        Assert.True(await AllAnsweredByAsync(ip, "A", 20));
        Assert.Contains("GET /healthz HTTP/1.1", healthzB.RequestLines);
        Assert.Contains("GET /healthz HTTP/1.1", healthzA.RequestLines);

        healthzB.LocalEndpoints = 1;

        Assert.True(await Net.EventuallyAsync(async () => await EchoConnection.WhoAnswersAsync(ip, 8080) == "B", Limit), daemon.Log.ToString());
    }

    [Fact]
    public async Task ExcludedNode_GetsNoTraffic_UntilTheLabelIsRemoved_AndNoneOnceItIsBack()
    {
        var nodePorts = OnOnePort(["127.0.0.172", "127.0.0.173"], (address, port, index) => new EchoBackend(index == 0 ? "A" : "C", address, port), echo => echo.Port);
        await using var nodePortA = nodePorts[0];
        await using var nodePortC = nodePorts[1];
        _api.PutNode(Node("node-a", "127.0.0.172"));
        _api.PutNode(Excluded(Node("node-c", "127.0.0.173"), "true"));
        _api.PutService(Service("web", 8080, nodePortA.Port));
        await using var daemon = ClusterHarness.Start(_api, "127.0.124.8/29");
        await daemon.ReadyAsync();
        var ip = await IngressEventuallyAsync("web");

        Assert.True(await Net.EventuallyAsync(async () => await EchoConnection.WhoAnswersAsync(ip, 8080) == "A", Limit), daemon.Log.ToString());
        Assert.True(await AllAnsweredByAsync(ip, "A", 20));
        var desired = (await daemon.SourceAsync()).Find(new ServiceKey("default", "web"));
        Assert.Equal(["127.0.0.172"], desired!.Backends[0].Endpoints.Select(endpoint => endpoint.Address.ToString()));

        // A change of the label alone (no readiness, no address) must reach the Service.
        _api.PutNode(Node("node-c", "127.0.0.173"));
        Assert.True(await Net.EventuallyAsync(async () => await EchoConnection.WhoAnswersAsync(ip, 8080) == "C", Limit), daemon.Log.ToString());

        _api.PutNode(Excluded(Node("node-c", "127.0.0.173"), ""));
        Assert.True(await Net.EventuallyAsync(async () => await AllAnsweredByAsync(ip, "A", 10), Limit), daemon.Log.ToString());
    }

    private static V1Service LocalService(int nodePort, int healthCheckNodePort)
    {
        var service = Service("web", 8080, nodePort);
        service.Spec.ExternalTrafficPolicy = "Local";
        service.Spec.HealthCheckNodePort = healthCheckNodePort;

        // Fast checks, so that the test takes seconds; they tune kube-proxy's check without replacing it.
        service.Metadata.Annotations = new Dictionary<string, string>
        {
            ["littlelb.io/health-check-interval"] = "300ms",
            ["littlelb.io/health-check-timeout"] = "250ms",
            ["littlelb.io/health-check-healthy-threshold"] = "1",
            ["littlelb.io/health-check-unhealthy-threshold"] = "1",
        };
        return service;
    }

    private static V1EndpointSlice SliceOnNodes(params (string Address, string Node)[] pods)
    {
        var slice = Slice("web", 8080, [.. pods.Select(pod => pod.Address)]);
        for (var index = 0; index < pods.Length; index++)
        {
            slice.Endpoints[index].NodeName = pods[index].Node;
        }

        return slice;
    }

    private static V1Node Excluded(V1Node node, string value)
    {
        node.Metadata.Labels["node.kubernetes.io/exclude-from-external-load-balancers"] = value;
        return node;
    }

    /// <summary>Whether <paramref name="count"/> new connections in a row all reach <paramref name="name"/>.</summary>
    private static async Task<bool> AllAnsweredByAsync(string ip, string name, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (await EchoConnection.WhoAnswersAsync(ip, 8080) != name)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One server per address, all on one port (a NodePort is the same on every node); retried when taken.</summary>
    private static List<T> OnOnePort<T>(string[] addresses, Func<IPAddress, int, int, T> start, Func<T, int> portOf)
        where T : IAsyncDisposable
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var started = new List<T>();
            try
            {
                var port = 0;
                for (var index = 0; index < addresses.Length; index++)
                {
                    started.Add(start(IPAddress.Parse(addresses[index]), port, index));
                    port = portOf(started[0]);
                }

                return started;
            }
            catch (SocketException)
            {
                foreach (var server in started)
                {
                    server.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
        }

        throw new InvalidOperationException($"no port free on all of {string.Join(", ", addresses)} after 20 tries");
    }

    private async Task<string> IngressEventuallyAsync(string name)
    {
        string? ip = null;
        Assert.True(await Net.EventuallyAsync(() => (ip = IngressIp(_api.GetService("default", name))) is not null, Limit),
            $"no ingress IP for {name}; events: {string.Join(" | ", _api.Events.Select(e => $"{e.RegardingName} {e.Reason} {e.Note}"))}");
        return ip!;
    }
}
