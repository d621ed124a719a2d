using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.ReconfigurePools;
using LoadBalancer.Domain.Allocation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NSubstitute;
using static LoadBalancer.Application.Tests.TestData;
using ReconfigureCommand = LoadBalancer.Application.Allocation.ReconfigurePools.ReconfigurePools;

namespace LoadBalancer.Application.Tests.Allocation.ReconfigurePools;

public sealed class ReconfigurePoolsTests
{
    private readonly AllocationRegistry _registry = new(Options.Create(new AllocationOptions
    {
        Pool = "10.0.0.0/29",
        Pools = [new PoolOptions { Name = "lan", Addresses = ["10.0.1.0/29"] }],
    }));

    private readonly CapturingLogger<ReconfigurePoolsHandler> _log = new();

    private ValueTask<ReconfigurePoolsResponse> Reconfigure(AllocationOptions options) =>
        new ReconfigurePoolsHandler(_registry, _log).Handle(new ReconfigureCommand(options), CancellationToken.None);

    [Fact]
    public async Task Handle_NewPoolsHoldingEveryLease_AppliesAndKeepsEveryIp()
    {
        _registry.Allocate(Spec("web", 80).ToRequest());
        _registry.Allocate((Spec("db", 5432) with { Pool = "lan" }).ToRequest());
        var before = Describe(_registry.Leases());

        var response = await Reconfigure(new AllocationOptions
        {
            Pool = "10.0.0.0/28",
            Pools =
            [
                new PoolOptions { Name = "dmz", Addresses = ["10.0.9.1"], AutoAssign = false },
                new PoolOptions { Name = "lan", Addresses = ["10.0.1.0/28"] },
            ],
        });

        Assert.True(response.Applied);
        Assert.Empty(response.Reasons);
        Assert.Equal(["default", "dmz", "lan"], response.Pools.Select(pool => pool.Name));
        Assert.Equal(before, Describe(_registry.Leases()));
        Assert.Equal(Ip("10.0.9.1"), _registry.Allocate((Spec("edge", 443) with { Pool = "dmz" }).ToRequest()).Allocation!.Ip);
        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Equal(1009, entry.EventId.Id);
        Assert.Equal("Pools reconfigured: 'default' (10.0.0.0/28), 'dmz' (10.0.9.1), 'lan' (10.0.1.0/28); every Service keeps its IP", entry.Message);
    }

    [Fact]
    public async Task Handle_InUseIpDropped_IsRefusedWithReasonAndChangesNothing()
    {
        _registry.Allocate(Spec("web", 80).ToRequest());
        _registry.Allocate((Spec("db", 5432) with { Pool = "lan" }).ToRequest());
        var before = Describe(_registry.Leases());

        var response = await Reconfigure(new AllocationOptions { Pool = "10.0.0.0/29" });

        Assert.False(response.Applied);
        Assert.Equal(["IP 10.0.1.1 is in use by default/db and would be in no pool"], response.Reasons);
        Assert.Equal(["default", "lan"], response.Pools.Select(pool => pool.Name));
        Assert.Equal(["default", "lan"], _registry.Pools.Select(pool => pool.Name));
        Assert.Equal(before, Describe(_registry.Leases()));
        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal(
            "Pool reconfiguration refused, the running pools are kept: IP 10.0.1.1 is in use by default/db and would be in no pool",
            entry.Message);
    }

    [Fact]
    public async Task Handle_PoolNoLongerAdmittingItsService_IsRefused()
    {
        _registry.Allocate((Spec("db", 5432) with { Pool = "lan" }).ToRequest());

        var response = await Reconfigure(new AllocationOptions
        {
            Pool = "10.0.0.0/29",
            Pools = [new PoolOptions { Name = "lan", Addresses = ["10.0.1.0/29"], ServiceSelector = "tier=db" }],
        });

        Assert.False(response.Applied);
        Assert.Equal(
            ["IP 10.0.1.1 is in use by default/db and would be in pool 'lan', which admits only Services whose labels match 'tier=db', and the labels of default/db are none"],
            response.Reasons);
    }

    [Fact]
    public async Task Handle_InvalidOptions_IsRefusedWithEveryProblemAndChangesNothing()
    {
        var registry = Substitute.For<IAllocationRegistry>();
        registry.Pools.Returns([]);

        var response = await new ReconfigurePoolsHandler(registry, _log).Handle(
            new ReconfigureCommand(new AllocationOptions
            {
                Pool = "10.0.0.0/33",
                Pools = [new PoolOptions { Name = "lan", Addresses = ["10.0.1.0/29"], ServiceSelector = "a in (" }],
            }),
            CancellationToken.None);

        Assert.False(response.Applied);
        Assert.Equal(
            [
                "restrictedCidr: '10.0.0.0/33' is not a CIDR, range or address: prefix length '33' must be a number from 0 to 32",
                "pools[0].serviceSelector: label selector 'a in (': '(' without ')'",
            ],
            response.Reasons);
        registry.DidNotReceiveWithAnyArgs().Reconfigure(default!);
    }

    [Fact]
    public void Validator_InvalidOptions_NamesEachKeyPath()
    {
        var result = new ReconfigurePoolsValidator().Validate(new ReconfigureCommand(
            new AllocationOptions { Pools = [new PoolOptions { Name = "lan", Addresses = ["10.0.0.300/24"] }] }));

        var error = Assert.Single(result.Errors);
        Assert.Equal("pools[0].addresses[0]", error.PropertyName);
        Assert.Equal("pools[0].addresses[0]: '10.0.0.300/24' is not a CIDR, range or address: invalid IP address: 10.0.0.300", error.ErrorMessage);
    }

    [Fact]
    public void Validator_GoodOptions_Passes()
    {
        Assert.True(new ReconfigurePoolsValidator().Validate(
            new ReconfigureCommand(new AllocationOptions())).IsValid);
    }
}
