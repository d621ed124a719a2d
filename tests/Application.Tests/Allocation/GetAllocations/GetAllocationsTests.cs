using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.GetAllocations;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation.GetAllocations;

public sealed class GetAllocationsTests
{
    private readonly AllocationRegistry _registry = Registry();

    public GetAllocationsTests()
    {
        // .225: shop/web 80, tools/grafana 443; .226: shop/api 80
        Allocate(new ServiceSpec("shop", "web", [Tcp(80)]));
        Allocate(new ServiceSpec("tools", "grafana", [Tcp(443)]));
        Allocate(new ServiceSpec("shop", "api", [Tcp(80)]));
    }

    [Fact]
    public async Task Handle_NoNamespace_ReturnsEveryLeaseLowestFirst()
    {
        var response = await Handler().Handle(new(), CancellationToken.None);

        Assert.Equal(
            string.Join(Environment.NewLine,
                "192.168.0.225 (shared): 80=shop/web, 443=tools/grafana",
                "192.168.0.226 (shared): 80=shop/api"),
            Describe(response.Leases));
        Assert.Equal("192.168.0.224/28", response.Pool);
        Assert.Empty(response.ValidationErrors);
    }

    [Fact]
    public async Task Handle_Namespace_KeepsOnlyThatNamespacesPorts()
    {
        var response = await Handler().Handle(new("shop"), CancellationToken.None);

        Assert.Equal(
            string.Join(Environment.NewLine,
                "192.168.0.225 (shared): 80=shop/web",
                "192.168.0.226 (shared): 80=shop/api"),
            Describe(response.Leases));
    }

    [Fact]
    public async Task Handle_Namespace_DropsIpsWithNoPortOfThatNamespace()
    {
        var response = await Handler().Handle(new("tools"), CancellationToken.None);

        Assert.Equal("192.168.0.225 (shared): 443=tools/grafana", Describe(response.Leases));
    }

    [Fact]
    public async Task Handle_NamespaceWithNoServices_ReturnsNoLeasesButThePool()
    {
        var response = await Handler().Handle(new("empty"), CancellationToken.None);

        Assert.Empty(response.Leases);
        Assert.Equal("192.168.0.224/28", response.Pool);
    }

    [Fact]
    public async Task Handle_Filtering_DoesNotChangeTheRegistry()
    {
        await Handler().Handle(new("tools"), CancellationToken.None);

        Assert.Equal(3, _registry.Leases().Sum(lease => lease.Ports.Count));
    }

    [Fact]
    public async Task Handle_NullQuery_Throws()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Handler().Handle(null!, CancellationToken.None));
    }

    private GetAllocationsHandler Handler() => new(_registry);

    private void Allocate(ServiceSpec spec)
    {
        var result = _registry.Allocate(spec.ToRequest());
        Assert.True(result.Succeeded, result.Refusal?.Message);
    }
}
