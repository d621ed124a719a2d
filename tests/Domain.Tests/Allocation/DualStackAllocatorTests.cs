using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Tests.Allocation;

public sealed class DualStackAllocatorTests
{
    private static readonly ServiceKey Web = new("shop", "web");
    private static readonly ServiceKey Api = new("shop", "api");

    private static AddressPool Pool(string name, string addresses) =>
        new(name, IpPool.Parse(addresses).Pool ?? throw new ArgumentException(addresses));

    private static LoadBalancerRequest Request(ServiceKey service, IpFamilyPolicy policy, IReadOnlyList<IpFamily>? families = null, int port = 80,
        IpSharing? sharing = null, params string[] ips) =>
        new(service, [ServicePort.Tcp(port)], ips.Length > 0 ? IPAddress.Parse(ips[0]) : null, sharing)
        {
            FamilyPolicy = policy,
            Families = families ?? [],
            RequestedIps = [.. ips.Select(IPAddress.Parse)],
        };

    private static IPAddress Ip(string text) => IPAddress.Parse(text);

    [Fact]
    public void Allocate_RequireDualStack_GetsOneAddressOfEachFamily_PrimaryFirst()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::/126")]);

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack, [IpFamily.IPv6, IpFamily.IPv4]));

        Assert.True(result.Succeeded);
        Assert.Equal([Ip("2001:db8::"), Ip("127.0.125.1")], result.Allocation!.Ips);
        Assert.Equal([Ip("2001:db8::"), Ip("127.0.125.1")], allocator.FindAssignments(Web).Select(a => a.Ip));
        Assert.Equal(2, Assert.Single(allocator.Pools).Used);
    }

    [Fact]
    public void Allocate_SingleStackIpv6_TakesAnIpv6FromThePoolsIpv6Ranges()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::10/128")]);

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.SingleStack, [IpFamily.IPv6]));

        Assert.Equal([Ip("2001:db8::10")], result.Allocation!.Ips);
    }

    [Fact]
    public void Allocate_RequireDualStackWithoutIpv6Pool_IsRefusedNamingTheFamilyAndThePools_AndLeaksNothing()
    {
        var allocator = new DualStackAllocator([Pool("default", "192.0.2.0/24")]);

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack));

        Assert.False(result.Succeeded);
        Assert.Equal(RefusalKind.FamilyUnavailable, result.Refusal!.Kind);
        Assert.Equal("ipFamilyPolicy RequireDualStack needs an IPv6 address too: no pool has IPv6 addresses to give shop/web; pools: 'default' (192.0.2.0/24)",
            result.Refusal.Message);
        Assert.Empty(allocator.Leases());
        Assert.Empty(allocator.FindAssignments(Web));
    }

    [Fact]
    public void Allocate_HolderOfIpv4ChangingToRequireDualStackWithIpv6Full_KeepsItsIpv4Exactly()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::1/128")]);
        allocator.Allocate(Request(Api, IpFamilyPolicy.SingleStack, [IpFamily.IPv6], port: 80, sharing: IpSharing.Exclusive));
        var first = allocator.Allocate(Request(Web, IpFamilyPolicy.SingleStack, port: 80)).Allocation!;

        // New ports too, so that the IPv4 side would have changed had the IPv6 side not been refused.
        var result = allocator.Allocate(new LoadBalancerRequest(Web, [ServicePort.Tcp(80), ServicePort.Tcp(443)])
        {
            FamilyPolicy = IpFamilyPolicy.RequireDualStack,
        });

        Assert.False(result.Succeeded);
        var kept = Assert.Single(allocator.FindAssignments(Web));
        Assert.Equal(first.Ip, kept.Ip);
        Assert.Equal(first.Bindings, kept.Bindings);
        Assert.Equal(["127.0.125.1", "2001:db8::1"], allocator.Leases().Select(lease => lease.Ip.ToString()));
    }

    [Fact]
    public void Allocate_PreferDualStackWithoutIpv6Room_GetsIpv4AndSaysWhichFamilyIsMissing()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30")]);

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.PreferDualStack));

        Assert.Equal([Ip("127.0.125.1")], result.Allocation!.Ips);
        var shortfall = Assert.Single(result.Allocation.Shortfalls);
        Assert.Equal(IpFamily.IPv6, shortfall.Family);
        Assert.Contains("no pool has IPv6 addresses", shortfall.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_SharingRulesApplyPerFamily()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.1/32, 2001:db8::/127")]);
        allocator.Allocate(Request(Api, IpFamilyPolicy.RequireDualStack, sharing: IpSharing.WithKey("a")));

        // Same port: the one IPv4 is taken on port 80, so the request is refused and the IPv6 it would get is not kept.
        var clash = allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack, sharing: IpSharing.WithKey("a")));
        var other = allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack, port: 443, sharing: IpSharing.WithKey("a")));

        Assert.False(clash.Succeeded);
        Assert.Equal([Ip("127.0.125.1"), Ip("2001:db8::")], other.Allocation!.Ips);
    }

    [Fact]
    public void Allocate_ExplicitAddressPerFamily_IsHonoured()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/28, 2001:db8::/120")]);

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack, ips: ["127.0.125.9", "2001:db8::9"]));

        Assert.Equal([Ip("127.0.125.9"), Ip("2001:db8::9")], result.Allocation!.Ips);
    }

    [Fact]
    public void Allocate_DualToSingle_ReleasesTheOtherFamilyAndReportsItVacated()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::/126")]);
        allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack));

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.SingleStack, [IpFamily.IPv4]));

        Assert.Equal([Ip("127.0.125.1")], result.Allocation!.Ips);
        Assert.Equal([Ip("2001:db8::")], result.Allocation.VacatedIps);
        Assert.True(result.Allocation.Changed);
        Assert.Single(allocator.Leases());
    }

    [Fact]
    public void Release_ReleasesBothFamilies()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::/126")]);
        allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack));

        var released = allocator.Release(Web);

        Assert.Equal([Ip("127.0.125.1"), Ip("2001:db8::")], released.Select(release => release.Ip));
        Assert.All(released, release => Assert.True(release.IpUnused));
        Assert.Empty(allocator.Leases());
    }

    [Fact]
    public void Restore_BothIpsOfAService_KeepTheRequestsFamilyOrder()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::/126")]);
        var request = Request(Web, IpFamilyPolicy.RequireDualStack, [IpFamily.IPv6, IpFamily.IPv4]);

        var report = allocator.Restore([new RestoredAssignment(request, Ip("127.0.125.2")), new RestoredAssignment(request, Ip("2001:db8::2"))]);
        var again = allocator.Allocate(request);

        Assert.Empty(report.Conflicts);
        Assert.Equal([Ip("2001:db8::2"), Ip("127.0.125.2")], again.Allocation!.Ips);
        Assert.False(again.Allocation.Changed);
    }

    [Fact]
    public void Restore_IpOfAFamilyNoPoolHas_IsAConflict()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30")]);

        var report = allocator.Restore([new RestoredAssignment(Request(Web, IpFamilyPolicy.PreferDualStack), Ip("2001:db8::2"))]);

        var conflict = Assert.Single(report.Conflicts);
        Assert.Contains("no pool has IPv6 addresses", conflict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_UnstatedFamilyWithOnlyIpv6Pools_GetsIpv6AsBeforeDualStack()
    {
        var allocator = new DualStackAllocator([Pool("default", "2001:db8::/126")]);

        var result = allocator.Allocate(Request(Web, IpFamilyPolicy.SingleStack));

        Assert.Equal([Ip("2001:db8::")], result.Allocation!.Ips);
    }

    [Fact]
    public void Reconfigure_DroppingAFamilyInUse_IsRefusedAndChangesNothing()
    {
        var allocator = new DualStackAllocator([Pool("default", "127.0.125.0/30, 2001:db8::/126")]);
        allocator.Allocate(Request(Web, IpFamilyPolicy.RequireDualStack));

        var result = allocator.Reconfigure([Pool("default", "127.0.125.0/29")]);

        Assert.False(result.Applied);
        Assert.Contains("IP 2001:db8:: is in use by shop/web and would be in no pool", result.Problems);
        Assert.Equal(2, allocator.FindAssignments(Web).Count);
        Assert.Equal("127.0.125.0/30, 2001:db8::/126", allocator.Definitions[0].Addresses.ToString());
    }
}
