using LoadBalancer.Infrastructure.Tests.Kubernetes.Support;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Status;

public sealed class KubernetesStatusWriterTests : FakeApiServerTest
{
    private static readonly ServiceKey Web = new("shop", "web");
    private static readonly IPAddress Ip = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress OtherIp = IPAddress.Parse("192.0.2.11");

    private readonly CapturingLogger<KubernetesStatusWriter> _logger = new();
    [Fact]
    public async Task Write_NewIp_MergePatchesIngressWithIpProxyModeAndTheServicesPorts()
    {
        Server.PutService(Service());
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        var patch = Assert.Single(Server.StatusPatches);
        Assert.Equal(("services", "shop", "web", "status"), (patch.Resource, patch.Namespace, patch.Name, patch.Subresource));
        Assert.StartsWith("application/merge-patch+json", patch.ContentType, StringComparison.Ordinal);
        Assert.Equal("little-load-balancer", patch.FieldManager);
        var ingress = Assert.Single(IngressOf(patch.Body));
        Assert.Equal("192.0.2.10", (string?)ingress!["ip"]);
        Assert.Equal("Proxy", (string?)ingress["ipMode"]);
        var ports = ingress["ports"]!.AsArray().Select(port => ((int)port!["port"]!, (string?)port["protocol"])).ToList();
        Assert.Equal([(80, "TCP"), (53, "UDP")], ports);

        var stored = Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress);
        Assert.Equal("192.0.2.10", stored.Ip);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5201 && entry.Level == LogLevel.Information);
    }

    [Fact]
    public async Task Write_StatusAlreadyHoldsTheIp_SendsNoRequest()
    {
        // As after a restart: the cluster already shows what the daemon assigns again.
        Server.PutService(Service(ingressIp: Ip));
        var before = Server.Requests.Count;
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Empty(Server.StatusPatches);
        Assert.Equal(before, Server.Requests.Count);
    }

    [Fact]
    public async Task Write_StatusHoldsAnotherIp_IsWritten()
    {
        Server.PutService(Service(ingressIp: OtherIp));
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Single(Server.StatusPatches);
        Assert.Equal("192.0.2.10", Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress).Ip);
    }

    [Fact]
    public async Task Write_StatusWithoutIpModeFromAnOlderApiServer_CountsAsWritten()
    {
        var service = Service(ingressIp: Ip);
        service.Status.LoadBalancer.Ingress[0].IpMode = null;
        Server.PutService(service);
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Empty(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_StatusWithOtherPorts_IsWritten()
    {
        var service = Service(ingressIp: Ip);
        service.Status.LoadBalancer.Ingress[0].Ports = [new V1PortStatus { Port = 80, Protocol = "TCP" }];
        Server.PutService(service);
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Single(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_SameIpTwiceBeforeTheCacheCatchesUp_PatchesOnce()
    {
        var cached = Server.PutService(Service());
        var writer = Writer(_ => cached);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);
        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Single(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_BackToTheOldIpBeforeTheCacheCatchesUp_IsWrittenAgain()
    {
        // The cache still shows the old IP, but the cluster holds the one written in between.
        var cached = Server.PutService(Service(ingressIp: OtherIp));
        var writer = Writer(_ => cached);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);
        await writer.WriteAsync(Web, [OtherIp], CancellationToken.None);

        Assert.Equal(2, Server.StatusPatches.Count);
        Assert.Equal("192.0.2.11", Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress).Ip);
    }

    [Fact]
    public async Task Write_StatusEditedBySomeoneElseAfterTheWrite_IsWrittenAgain()
    {
        Server.PutService(Service());
        var writer = Writer();
        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Server.PutService(Service(ingressIp: OtherIp));
        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Equal(2, Server.StatusPatches.Count);
        Assert.Equal("192.0.2.10", Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress).Ip);
    }

    [Fact]
    public async Task Write_SameIpAfterTheCacheCaughtUp_SendsNoPatch()
    {
        Server.PutService(Service());
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);
        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Single(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_Null_WritesAnEmptyIngressList()
    {
        Server.PutService(Service(ingressIp: Ip));
        var writer = Writer();

        await writer.WriteAsync(Web, [], CancellationToken.None);

        var patch = Assert.Single(Server.StatusPatches);
        Assert.Empty(IngressOf(patch.Body));
        Assert.Empty(Server.GetService("shop", "web")!.Status?.LoadBalancer?.Ingress ?? []);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5202);
    }

    [Fact]
    public async Task Write_NullWhenTheStatusIsAlreadyEmpty_SendsNoPatch()
    {
        Server.PutService(Service());
        var writer = Writer();

        await writer.WriteAsync(Web, [], CancellationToken.None);

        Assert.Empty(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_ExternalIpsOff_LeavesTheSpecAlone()
    {
        Server.PutService(Service(externalIps: ["10.0.0.1"]));
        var writer = Writer();

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Empty(Server.Patches);
        Assert.Equal(["10.0.0.1"], Server.GetService("shop", "web")!.Spec.ExternalIPs);
    }

    [Fact]
    public async Task Write_ExternalIpsOn_AddsTheIpAndKeepsOtherEntries()
    {
        Server.PutService(Service(externalIps: ["10.0.0.1"]));
        var writer = Writer(setExternalIps: true);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        var patch = Assert.Single(Server.Patches);
        Assert.Equal(("services", "shop", "web", (string?)null), (patch.Resource, patch.Namespace, patch.Name, patch.Subresource));
        Assert.StartsWith("application/merge-patch+json", patch.ContentType, StringComparison.Ordinal);
        Assert.Equal("little-load-balancer", patch.FieldManager);
        Assert.Equal(["10.0.0.1", "192.0.2.10"], Server.GetService("shop", "web")!.Spec.ExternalIPs);
        Assert.Single(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_ExternalIpsRefusedByTheCluster_StillWritesTheStatus_AndFailsForARetry()
    {
        // As under the DenyServiceExternalIPs admission plugin: every spec patch of externalIPs is answered 422.
        Server.PutService(Service());
        using var refusing = new k8s.Kubernetes(
            new KubernetesClientConfiguration { Host = Server.BaseAddress.ToString() },
            new RefuseSpecPatches());
        var writer = new KubernetesStatusWriter(refusing, Lookup(Live), new KubernetesStatusOptions { SetExternalIps = true }, _logger);

        await Assert.ThrowsAsync<HttpOperationException>(() => writer.WriteAsync(Web, [Ip], CancellationToken.None).AsTask());

        Assert.Equal("192.0.2.10", Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress).Ip);
        Assert.Empty(Server.Patches);
    }

    [Fact]
    public async Task Write_TwoOverlappingWritesOfOneService_TheLaterWins_AndAnOvertakenOneIsNotSent()
    {
        Server.PutService(Service());
        var holding = new HoldFirstStatusPatch();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Server.BaseAddress.ToString() }, holding);
        var writer = new KubernetesStatusWriter(client, Lookup(Live), new KubernetesStatusOptions(), _logger);
        var third = IPAddress.Parse("192.0.2.12");

        // The first write is at the API server; two more of the same Service come before it is answered.
        var first = writer.WriteAsync(Web, [Ip], CancellationToken.None).AsTask();
        await holding.FirstArrived.WaitAsync(TimeSpan.FromSeconds(10));
        var second = writer.WriteAsync(Web, [OtherIp], CancellationToken.None).AsTask();
        var latest = writer.WriteAsync(Web, [third], CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        holding.Release();
        await Task.WhenAll(first, second, latest).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["192.0.2.10", "192.0.2.12"], Server.StatusPatches.Select(patch => (string?)IngressOf(patch.Body)[0]!["ip"]));
        Assert.Equal("192.0.2.12", Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress).Ip);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5207 && entry.Message.Contains("192.0.2.11", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Write_OneServiceHeldAtTheApiServer_DoesNotHoldUpAnother()
    {
        Server.PutService(Service());
        Server.PutService(Service() with { Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "shop" } });
        var holding = new HoldFirstStatusPatch();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Server.BaseAddress.ToString() }, holding);
        var writer = new KubernetesStatusWriter(client, Lookup(Live), new KubernetesStatusOptions(), _logger);

        var held = writer.WriteAsync(Web, [Ip], CancellationToken.None).AsTask();
        await holding.FirstArrived.WaitAsync(TimeSpan.FromSeconds(10));
        await writer.WriteAsync(new ServiceKey("shop", "api"), [OtherIp], CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(held.IsCompleted);
        holding.Release();
        await held.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, Server.StatusPatches.Count);
    }

    /// <summary>Holds the first status PATCH before it reaches the server until released; lets every other request through.</summary>
    private sealed class HoldFirstStatusPatch : DelegatingHandler
    {
        private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public Task FirstArrived => _arrived.Task;

        public void Release() => _released.TrySetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Patch && Interlocked.Increment(ref _seen) == 1)
            {
                _arrived.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Answers 422 to a PATCH of a Service itself (not its status), as a cluster refusing externalIPs does.</summary>
    private sealed class RefuseSpecPatches : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            request.Method == HttpMethod.Patch && !request.RequestUri!.AbsolutePath.EndsWith("/status", StringComparison.Ordinal)
                ? Task.FromResult(new HttpResponseMessage(HttpStatusCode.UnprocessableEntity) { RequestMessage = request, Content = new StringContent("{}") })
                : base.SendAsync(request, cancellationToken);
    }

    [Fact]
    public async Task Write_ExternalIpsOnAndAlreadyThere_SendsNoPatch()
    {
        Server.PutService(Service(ingressIp: Ip, externalIps: ["10.0.0.1", "192.0.2.10"]));
        var writer = Writer(setExternalIps: true);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Empty(Server.Patches);
        Assert.Empty(Server.StatusPatches);
    }

    [Fact]
    public async Task Write_ExternalIpsOnAndIpChanges_ReplacesOnlyTheOldIp()
    {
        Server.PutService(Service(ingressIp: OtherIp, externalIps: ["192.0.2.11", "10.0.0.1"]));
        var writer = Writer(setExternalIps: true);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Equal(["10.0.0.1", "192.0.2.10"], Server.GetService("shop", "web")!.Spec.ExternalIPs);
    }

    [Fact]
    public async Task Write_ExternalIpsOnAndBackToTheOldIpBeforeTheCacheCatchesUp_IsWrittenAgain()
    {
        var cached = Server.PutService(Service(ingressIp: OtherIp, externalIps: ["10.0.0.1", "192.0.2.11"]));
        var writer = Writer(_ => cached, setExternalIps: true);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);
        await writer.WriteAsync(Web, [OtherIp], CancellationToken.None);

        Assert.Equal(2, Server.Patches.Count);
        Assert.Equal(["10.0.0.1", "192.0.2.11"], Server.GetService("shop", "web")!.Spec.ExternalIPs);
    }

    [Fact]
    public async Task Write_ExternalIpsOnAndCleared_RemovesOnlyOurIp()
    {
        Server.PutService(Service(ingressIp: Ip, externalIps: ["10.0.0.1", "192.0.2.10"]));
        var writer = Writer(setExternalIps: true);

        await writer.WriteAsync(Web, [], CancellationToken.None);

        Assert.Equal(["10.0.0.1"], Server.GetService("shop", "web")!.Spec.ExternalIPs);
        Assert.Empty(Server.GetService("shop", "web")!.Status?.LoadBalancer?.Ingress ?? []);
    }

    [Fact]
    public async Task Write_ExternalIpsOnAndOursWasTheOnlyEntry_RemovesTheField()
    {
        Server.PutService(Service(ingressIp: Ip, externalIps: ["192.0.2.10"]));
        var writer = Writer(setExternalIps: true);

        await writer.WriteAsync(Web, [], CancellationToken.None);

        Assert.Empty(Server.GetService("shop", "web")!.Spec.ExternalIPs ?? []);
    }

    [Fact]
    public async Task Write_ServiceUnknownToTheLookup_SendsNothingAndLogsAtDebug()
    {
        var writer = Writer(_ => null);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Empty(Server.Requests);
        var entry = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 5204);
        Assert.Equal(LogLevel.Debug, entry.Level);
    }

    [Fact]
    public async Task Write_ServiceDeletedFromTheServerMeanwhile_IsNotAnError()
    {
        var cached = Server.PutService(Service());
        Server.DeleteService("shop", "web");
        var writer = Writer(_ => cached);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Equal(404, Assert.Single(Server.StatusPatches).StatusCode);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 5204 && entry.Level == LogLevel.Debug);
    }

    [Fact]
    public async Task Write_ServiceDeletedMeanwhileWithExternalIpsOn_IsNotAnError()
    {
        var cached = Server.PutService(Service());
        Server.DeleteService("shop", "web");
        var writer = Writer(_ => cached, setExternalIps: true);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        // The status goes first; its 404 ends the write before the spec is tried.
        Assert.Equal(404, Assert.Single(Server.StatusPatches).StatusCode);
        Assert.Empty(Server.Patches);
    }

    [Fact]
    public async Task Write_ApiServerUnavailable_ThrowsAndALaterRetryWrites()
    {
        Server.PutService(Service());
        var writer = Writer();
        Server.Unavailable = true;

        var failure = await Assert.ThrowsAsync<HttpOperationException>(() => writer.WriteAsync(Web, [Ip], CancellationToken.None).AsTask());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failure.Response.StatusCode);

        Server.Unavailable = false;
        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Equal(2, Server.Requests.Count(request => request.Method == "PATCH" && request.Path.EndsWith("/status", StringComparison.Ordinal)));
        Assert.Equal(200, Assert.Single(Server.StatusPatches).StatusCode);
        Assert.Equal("192.0.2.10", Assert.Single(Server.GetService("shop", "web")!.Status.LoadBalancer.Ingress).Ip);
    }

    [Fact]
    public async Task Write_CustomFieldManager_IsSent()
    {
        Server.PutService(Service());
        var writer = new KubernetesStatusWriter(Client, Lookup(Live), new KubernetesStatusOptions { FieldManager = "someone" }, _logger);

        await writer.WriteAsync(Web, [Ip], CancellationToken.None);

        Assert.Equal("someone", Assert.Single(Server.StatusPatches).FieldManager);
    }

    private V1Service? Live(ServiceKey key) => Server.GetService(key.Namespace, key.Name);

    private KubernetesStatusWriter Writer(Func<ServiceKey, V1Service?>? find = null, bool setExternalIps = false) =>
        new(Client, Lookup(find ?? Live), new KubernetesStatusOptions { SetExternalIps = setExternalIps }, _logger);

    private static ServiceLookupStub Lookup(Func<ServiceKey, V1Service?> find) => new(find);

    private static JsonArray IngressOf(string body) => JsonNode.Parse(body)!["status"]!["loadBalancer"]!["ingress"]!.AsArray();

    private static V1Service Service(IPAddress? ingressIp = null, IList<string>? externalIps = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop" },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer",
            Ports =
            [
                new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP" },
                new V1ServicePort { Name = "dns", Port = 53, Protocol = "UDP" },
            ],
            ExternalIPs = externalIps,
        },
        Status = new V1ServiceStatus
        {
            LoadBalancer = new V1LoadBalancerStatus
            {
                Ingress = ingressIp is null
                    ? []
                    :
                    [
                        new V1LoadBalancerIngress
                        {
                            Ip = ingressIp.ToString(),
                            IpMode = "Proxy",
                            Ports = [new V1PortStatus { Port = 80, Protocol = "TCP" }, new V1PortStatus { Port = 53, Protocol = "UDP" }],
                        },
                    ],
            },
        },
    };
}
