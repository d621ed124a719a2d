using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Allocation;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation;

public sealed class PoolSetFactoryTests
{
    private static PoolOptions Lan(params string[] addresses) => new() { Name = "lan", Addresses = addresses };

    [Fact]
    public void Build_DefaultAndNamedPools_KeepsDefaultFirstThenFileOrder()
    {
        var built = PoolSetFactory.Build(new AllocationOptions
        {
            Pools =
            [
                new PoolOptions { Name = "wan", Addresses = ["10.0.2.0/30"], AutoAssign = false },
                new PoolOptions
                {
                    Name = "lan",
                    Addresses = ["192.168.1.240/28", "192.168.2.250-192.168.2.254", "2001:db8::10"],
                    Exclude = ["192.168.1.241"],
                    Namespaces = ["prod", "staging"],
                    ServiceSelector = "tier=frontend,env in (prod)",
                },
            ],
        });

        Assert.Empty(built.Errors);
        Assert.Equal(["default", "wan", "lan"], built.Pools!.Select(pool => pool.Name));
        var lan = built.Pools![2];
        Assert.False(lan.Addresses.Contains(Ip("192.168.1.241")));
        Assert.True(lan.Addresses.Contains(Ip("2001:db8::10")));
        Assert.Equal(["prod", "staging"], lan.Namespaces);
        Assert.Equal("tier=frontend,env in (prod)", lan.ServiceSelector.Text);
        Assert.False(built.Pools[1].AutoAssign);
    }

    [Fact]
    public void Build_NoDefaultPool_UsesOnlyTheNamedOnes()
    {
        var built = PoolSetFactory.Build(new AllocationOptions { Pool = null, Pools = [Lan("10.0.1.0/30")] });

        Assert.Equal(["lan"], built.Pools!.Select(pool => pool.Name));
    }

    [Fact]
    public void Build_EveryMistake_IsReportedAtOnceWithItsKeyPath()
    {
        var built = PoolSetFactory.Build(new AllocationOptions
        {
            Pool = "192.168.0.224/28",
            Pools =
            [
                new PoolOptions { Name = "lan", Addresses = ["10.0.0.0/24"] },
                new PoolOptions { Name = "wan", Addresses = ["10.1.0.0/24", "10.0.0.300/24"], Exclude = ["x"] },
                new PoolOptions { Name = "lan", Addresses = ["10.2.0.0/24"] },
                new PoolOptions { Name = "default", Addresses = ["10.3.0.0/24"] },
                new PoolOptions { Name = "Bad_Name", Addresses = [] },
                new PoolOptions { Name = "sel", Addresses = ["10.4.0.0/24"], ServiceSelector = "tier in ()", Namespaces = ["Prod"] },
                new PoolOptions { Name = "inside", Addresses = ["192.168.0.230-192.168.0.232", "10.0.0.9"] },
            ],
        });

        Assert.Null(built.Pools);
        Assert.Equal(
            [
                "pools[1].addresses[1]: '10.0.0.300/24' is not a CIDR, range or address: invalid IP address: 10.0.0.300",
                "pools[1].exclude[0]: 'x' is not a CIDR, range or address: invalid IP address: x",
                "pools[2].name: 'lan' is also the name of pools[0]; names must be unique",
                "pools[3].name: 'default' is the name of the pool set by restrictedCidr; choose another",
                "pools[4].name: 'Bad_Name' must be lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
                "pools[4].addresses: at least one CIDR, range or address is required",
                "pools[5].namespaces[0]: 'Prod' is not a namespace name: lower-case letters, digits and '-', at most 63 characters",
                "pools[5].serviceSelector: label selector 'tier in ()': 'tier in ()': the set of values is empty",
                "pools[6]: pool 'inside' and pool 'default' (restrictedCidr) both hold 192.168.0.230; an address may be in one pool only",
                "pools[6]: pool 'inside' and pool 'lan' (pools[0]) both hold 10.0.0.9; an address may be in one pool only",
            ],
            built.Errors);
    }

    [Fact]
    public void Build_NoPoolAtAll_IsAnError()
    {
        var built = PoolSetFactory.Build(new AllocationOptions { Pool = null });

        Assert.Equal(["restrictedCidr, pools: no pool: set restrictedCidr or list pools"], built.Errors);
    }

    [Fact]
    public void Build_ExcludeWithoutDefaultPool_IsAnError()
    {
        var built = PoolSetFactory.Build(new AllocationOptions { Pool = null, Excluded = "10.0.0.1", Pools = [Lan("10.0.1.0/30")] });

        Assert.Equal(["exclude: excludes addresses from the pool 'default', and there is none (restrictedCidr is not set)"], built.Errors);
    }

    [Fact]
    public void Build_ExclusionThatEmptiesAPool_NamesThePool()
    {
        var built = PoolSetFactory.Build(new AllocationOptions
        {
            Pools = [new PoolOptions { Name = "tiny", Addresses = ["10.0.1.5"], Exclude = ["10.0.1.0/24"] }],
        });

        Assert.Equal(
            ["pools[0].addresses: pool '10.0.1.5' has no usable address once network, broadcast and excluded addresses are removed"],
            built.Errors);
    }

    [Fact]
    public void Validate_AsOptionsValidation_FailsWithEveryError()
    {
        var result = new AllocationOptionsValidator().Validate(null, new AllocationOptions { Pool = "10.0.0.0/33", Pools = [Lan()] });

        Assert.True(result.Failed);
        Assert.Equal(
            [
                "restrictedCidr: '10.0.0.0/33' is not a CIDR, range or address: prefix length '33' must be a number from 0 to 32",
                "pools[0].addresses: at least one CIDR, range or address is required",
            ],
            result.Failures);
    }

    [Fact]
    public void Validate_GoodOptions_Succeeds()
    {
        Assert.True(new AllocationOptionsValidator().Validate(null, new AllocationOptions { Pools = [Lan("10.0.1.0/30")] }).Succeeded);
        Assert.Equal(AddressPool.DefaultName, PoolSetFactory.Create(new AllocationOptions())[0].Name);
    }
}
