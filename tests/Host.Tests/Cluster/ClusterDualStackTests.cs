using System.Net;
using k8s.Models;
using LoadBalancer.Tests.FakeKubernetesApi;
using static LoadBalancer.Host.Tests.Cluster.ClusterObjects;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>
/// A dual-stack Service in cluster mode through the fake API server: pool 127.0.125.16/29 and ::1 (the loopback device
/// serves both), a "node" on 127.0.0.192 with an echo server on the NodePort.
/// </summary>
public sealed class ClusterDualStackTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    private FakeApiServer _api = null!;

    public async Task InitializeAsync() => _api = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task RequireDualStack_StatusListsBothIpsInFamilyOrder_BothAreServed_AndARestartKeepsThem()
    {
        await using var node = new EchoBackend("A", IPAddress.Parse("127.0.0.192"), 0);
        _api.PutNode(Node("node-a", "127.0.0.192"));
        var service = Service("web", 8080, node.Port);
        service.Spec.IpFamilyPolicy = "RequireDualStack";
        service.Spec.IpFamilies = ["IPv6", "IPv4"];
        _api.PutService(service);

        for (var run = 0; run < 2; run++)
        {
            await using var daemon = ClusterHarness.Start(_api, "127.0.125.16/29, ::1/128");
            await daemon.ReadyAsync();

            string[]? ingress = null;
            Assert.True(await Net.EventuallyAsync(() => (ingress = IngressIps(_api.GetService("default", "web"))).Length == 2, Limit), daemon.Log.ToString());
            Assert.Equal(["::1", "127.0.125.17"], ingress!);
            Assert.True(await Net.EventuallyAsync(async () => await EchoConnection.WhoAnswersAsync("::1", 8080) == "A", Limit), daemon.Log.ToString());
            Assert.True(await Net.EventuallyAsync(async () => await EchoConnection.WhoAnswersAsync("127.0.125.17", 8080) == "A", Limit), daemon.Log.ToString());
        }
    }

    [Fact]
    public async Task RequireDualStack_WithoutAnIPv6Pool_IsRefusedWithAWarningEventNamingTheReason()
    {
        await using var node = new EchoBackend("A", IPAddress.Parse("127.0.0.192"), 0);
        _api.PutNode(Node("node-a", "127.0.0.192"));
        var service = Service("web", 8080, node.Port);
        service.Spec.IpFamilyPolicy = "RequireDualStack";
        service.Spec.IpFamilies = ["IPv4", "IPv6"];
        _api.PutService(service);
        await using var daemon = ClusterHarness.Start(_api, "127.0.125.24/29");
        await daemon.ReadyAsync();

        Assert.True(await Net.EventuallyAsync(
            () => _api.Events.Any(e => e.RegardingName == "web" && e.Type == "Warning" && e.Note?.Contains("no pool has IPv6 addresses", StringComparison.Ordinal) == true), Limit),
            string.Join(" | ", _api.Events.Select(e => $"{e.RegardingName} {e.Type} {e.Reason} {e.Note}")));
        Assert.Empty(IngressIps(_api.GetService("default", "web")));
    }

    private static string[] IngressIps(V1Service? service) =>
        [.. service?.Status?.LoadBalancer?.Ingress?.Select(ingress => ingress.Ip) ?? []];
}
