using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Allocation;

public sealed class PoolAllocatorTests
{
    private static readonly DateTimeOffset Older = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Newer = Older.AddDays(1);

    private static AddressPool Default(string addresses = "10.0.0.0/30") => new(AddressPool.DefaultName, Pool(addresses));

    private static AddressPool Named(string name, string addresses, string[]? namespaces = null, string? selector = null, bool autoAssign = true) =>
        new(name, Pool(addresses), namespaces, LabelSelector.Parse(selector), autoAssign);

    private static LoadBalancerRequest Ask(
        string ns, string name, int port = 80, string? ip = null, string? pool = null,
        Dictionary<string, string>? labels = null, DateTimeOffset createdAt = default) =>
        new(new ServiceKey(ns, name), [ServicePort.Tcp(port)], ip is null ? null : Ip(ip), null, createdAt, pool, labels);

    private static IpAllocation Allocated(PoolAllocator allocator, LoadBalancerRequest request)
    {
        var result = allocator.Allocate(request);
        Assert.True(result.Succeeded, result.Refusal?.Message);
        return result.Allocation!;
    }

    private static AllocationRefusal Refused(PoolAllocator allocator, LoadBalancerRequest request)
    {
        var before = Describe(allocator.Leases());
        var result = allocator.Allocate(request);
        Assert.False(result.Succeeded);
        Assert.Equal(before, Describe(allocator.Leases()));
        return result.Refusal!;
    }

    [Fact]
    public void Allocate_NoRequest_FillsDefaultFirstThenTheNextPoolInOrder()
    {
        var allocator = new PoolAllocator([Default("10.0.0.1"), Named("lan", "10.0.1.0/30"), Named("wan", "10.0.2.0/30")]);

        Assert.Equal(Ip("10.0.0.1"), Allocated(allocator, Ask("a", "one")).Ip);
        Assert.Equal(Ip("10.0.0.1"), Allocated(allocator, Ask("a", "two", port: 443)).Ip);
        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, Ask("a", "three")).Ip);
        Assert.Equal(Ip("10.0.1.2"), Allocated(allocator, Ask("a", "four")).Ip);
        Assert.Equal(Ip("10.0.2.1"), Allocated(allocator, Ask("a", "five")).Ip);
        Assert.Equal("lan", allocator.FindPool(new ServiceKey("a", "three")));
    }

    [Fact]
    public void Allocate_PoolByName_TakesItsLowestFreeIp()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30")]);

        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, Ask("a", "web", pool: "lan")).Ip);
    }

    [Fact]
    public void Allocate_UnknownPool_IsRefusedNamingItAndListingTheKnownOnes()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30")]);

        var refusal = Refused(allocator, Ask("a", "web", pool: "wan"));

        Assert.Equal(RefusalKind.UnknownPool, refusal.Kind);
        Assert.Equal("pool 'wan' does not exist; the pools are 'default', 'lan'", refusal.Message);
    }

    [Fact]
    public void Allocate_ExhaustedNamedPool_IsRefusedNamingThePool()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.1")]);
        Allocated(allocator, Ask("a", "first", pool: "lan"));

        var refusal = Refused(allocator, Ask("a", "second", pool: "lan"));

        Assert.Equal(RefusalKind.PoolExhausted, refusal.Kind);
        Assert.Equal("no available IPs for port 80 in pool 'lan'", refusal.Message);
    }

    [Fact]
    public void Allocate_EveryAutomaticPoolFull_IsRefusedNamingEachPoolTried()
    {
        var allocator = new PoolAllocator([Default("10.0.0.1"), Named("lan", "10.0.1.1"), Named("spare", "10.0.2.1", autoAssign: false)]);
        Allocated(allocator, Ask("a", "one"));
        Allocated(allocator, Ask("a", "two"));

        var refusal = Refused(allocator, Ask("a", "three"));

        Assert.Equal(RefusalKind.PoolExhausted, refusal.Kind);
        Assert.Equal("no available IPs for port 80 in pools 'default', 'lan'", refusal.Message);
    }

    [Fact]
    public void Allocate_AutoAssignOff_ServesOnlyServicesThatAsk()
    {
        var allocator = new PoolAllocator([Named("spare", "10.0.2.0/30", autoAssign: false), Named("lan", "10.0.1.0/30")]);

        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, Ask("a", "unasked")).Ip);
        Assert.Equal(Ip("10.0.2.1"), Allocated(allocator, Ask("a", "by-name", pool: "spare")).Ip);
        Assert.Equal(Ip("10.0.2.2"), Allocated(allocator, Ask("a", "by-ip", ip: "10.0.2.2")).Ip);
    }

    [Fact]
    public void Allocate_NamespacesOfAPool_SkipOtherNamespacesToTheNextPool()
    {
        var allocator = new PoolAllocator([Named("prod", "10.0.1.0/30", namespaces: ["prod"]), Named("rest", "10.0.2.0/30")]);

        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, Ask("prod", "web")).Ip);
        Assert.Equal(Ip("10.0.2.1"), Allocated(allocator, Ask("dev", "web")).Ip);
    }

    [Fact]
    public void Allocate_ServiceSelector_AdmitsOnlyMatchingLabels()
    {
        var allocator = new PoolAllocator([Named("front", "10.0.1.0/30", selector: "tier in (frontend)"), Named("rest", "10.0.2.0/30")]);

        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, Ask("a", "web", labels: new() { ["tier"] = "frontend" })).Ip);
        Assert.Equal(Ip("10.0.2.1"), Allocated(allocator, Ask("a", "db", labels: new() { ["tier"] = "backend" })).Ip);
        Assert.Equal(Ip("10.0.2.1"), Allocated(allocator, Ask("a", "bare", port: 443)).Ip);
    }

    [Fact]
    public void Allocate_NamedPoolThatDoesNotAdmitTheNamespace_IsRefusedWithReason()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30", namespaces: ["prod", "staging"])]);

        var refusal = Refused(allocator, Ask("dev", "web", pool: "lan"));

        Assert.Equal(RefusalKind.NotAdmitted, refusal.Kind);
        Assert.Equal("pool 'lan' admits only namespaces prod, staging, not 'dev'", refusal.Message);
    }

    [Fact]
    public void Allocate_ExplicitIpInPoolThatDoesNotAdmitTheLabels_IsRefusedWithReason()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30", selector: "tier=frontend")]);

        var refusal = Refused(allocator, Ask("a", "db", ip: "10.0.1.2", labels: new() { ["tier"] = "backend", ["app"] = "db" }));

        Assert.Equal(RefusalKind.NotAdmitted, refusal.Kind);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 10.0.1.2:80 - Reason: IP 10.0.1.2 is in pool 'lan', which admits only "
            + "Services whose labels match 'tier=frontend', and the labels of a/db are app=db,tier=backend",
            refusal.Message);
    }

    [Fact]
    public void Allocate_ExplicitIpInNoPool_ListsThePools()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30")]);

        var refusal = Refused(allocator, Ask("a", "web", ip: "172.16.0.1"));

        Assert.Equal(RefusalKind.OutsidePool, refusal.Kind);
        Assert.Equal("IP 172.16.0.1 is in no pool: 'default' (10.0.0.0/30), 'lan' (10.0.1.0/30)", refusal.Reason);
    }

    [Fact]
    public void Allocate_ExplicitIpExcludedFromAPool_NamesThatPool()
    {
        var allocator = new PoolAllocator([Default(), new AddressPool("lan", Pool("10.0.1.0/29", "10.0.1.3"))]);

        var refusal = Refused(allocator, Ask("a", "web", ip: "10.0.1.3"));

        Assert.Equal(RefusalKind.Excluded, refusal.Kind);
        Assert.Equal("IP 10.0.1.3 is excluded from pool 'lan'", refusal.Reason);
    }

    [Fact]
    public void Allocate_ExplicitIpOutsideTheNamedPool_IsRefused()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30")]);

        var refusal = Refused(allocator, Ask("a", "web", ip: "10.0.0.1", pool: "lan"));

        Assert.Equal("IP 10.0.0.1 is in pool 'default', not in pool 'lan' that the Service asks for", refusal.Reason);
    }

    [Fact]
    public void Allocate_NoPoolAdmitsUnasked_SaysWhyForEachPool()
    {
        var allocator = new PoolAllocator([Named("prod", "10.0.1.0/30", namespaces: ["prod"]), Named("spare", "10.0.2.0/30", autoAssign: false)]);

        var refusal = Refused(allocator, Ask("dev", "web"));

        Assert.Equal(RefusalKind.NotAdmitted, refusal.Kind);
        Assert.Equal(
            "no pool assigns an IP to dev/web unasked: pool 'prod' admits only namespaces prod, not 'dev'; "
            + "pool 'spare' serves only Services that ask for it (autoAssign: false)",
            refusal.Message);
    }

    [Fact]
    public void Allocate_SharingRules_HoldWithinAPoolOnly()
    {
        var allocator = new PoolAllocator([Default("10.0.0.1"), Named("lan", "10.0.1.1")]);
        Allocated(allocator, Ask("a", "web"));

        // Port 443 is free on 10.0.0.1, so a shared Service reuses it; an exclusive one must go to the next pool.
        Assert.Equal(Ip("10.0.0.1"), Allocated(allocator, Ask("a", "tls", port: 443)).Ip);
        var exclusive = new LoadBalancerRequest(new ServiceKey("a", "alone"), [ServicePort.Tcp(8080)], null, IpSharing.Exclusive);
        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, exclusive).Ip);
    }

    [Fact]
    public void Allocate_ServiceSwitchesPoolByAnnotation_MovesAndVacatesItsOldIp()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30")]);
        Allocated(allocator, Ask("a", "web"));

        var moved = Allocated(allocator, Ask("a", "web", pool: "lan"));

        Assert.Equal(Ip("10.0.1.1"), moved.Ip);
        Assert.Equal(Ip("10.0.0.1"), moved.VacatedIp);
        Assert.Equal("lan", allocator.FindPool(new ServiceKey("a", "web")));
        Assert.Single(allocator.Leases());
    }

    [Fact]
    public void Allocate_MoveToAFullPool_IsRefusedAndKeepsTheOldIp()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.1")]);
        Allocated(allocator, Ask("a", "web"));
        Allocated(allocator, Ask("a", "other", pool: "lan"));

        var refusal = Refused(allocator, Ask("a", "web", pool: "lan"));

        Assert.Equal("no available IPs for port 80 in pool 'lan'", refusal.Message);
        Assert.Equal(Ip("10.0.0.1"), allocator.FindAssignment(new ServiceKey("a", "web"))!.Ip);
    }

    [Fact]
    public void Allocate_UnchangedRequestAfterAnnotationRemoved_KeepsItsPool()
    {
        var allocator = new PoolAllocator([Default(), Named("spare", "10.0.2.0/30", autoAssign: false)]);
        Allocated(allocator, Ask("a", "web", pool: "spare"));

        var kept = Allocated(allocator, Ask("a", "web"));

        Assert.Equal(Ip("10.0.2.1"), kept.Ip);
        Assert.Equal(AllocationReason.Kept, kept.Reason);
        Assert.False(kept.Changed);
    }

    [Fact]
    public void Allocate_ChangedPortsWithoutRoomInItsPool_MovesToTheNextPoolWithRoom()
    {
        var allocator = new PoolAllocator([Default("10.0.0.1"), Named("lan", "10.0.1.1")]);
        Allocated(allocator, Ask("a", "web"));
        Allocated(allocator, Ask("a", "tls", port: 443));

        var moved = Allocated(allocator, Ask("a", "web", port: 443));

        Assert.Equal(Ip("10.0.1.1"), moved.Ip);
        Assert.Null(moved.VacatedIp);
    }

    [Fact]
    public void Allocate_Ipv6Pool_HandsOutItsAddresses()
    {
        var allocator = new PoolAllocator([Default(), Named("v6", "2001:db8::10-2001:db8::11", autoAssign: false)]);

        Assert.Equal(Ip("2001:db8::10"), Allocated(allocator, Ask("a", "one", pool: "v6")).Ip);
        Assert.Equal(Ip("2001:db8::11"), Allocated(allocator, Ask("a", "two", pool: "v6")).Ip);
        Assert.Equal("no available IPs for port 80 in pool 'v6'", Refused(allocator, Ask("a", "three", pool: "v6")).Message);
        Assert.Equal(["10.0.0.0/30", "2001:db8::10-2001:db8::11"], allocator.Pools.Select(pool => pool.Addresses.ToString()));
        Assert.Equal(2, allocator.Pools[1].Used);
        Assert.Equal(UInt128.Zero, allocator.Pools[1].Free);
    }

    [Fact]
    public void Restore_AcrossPools_PutsEachIpInItsPoolAndTheOlderServiceWins()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30", namespaces: ["prod"])]);

        var report = allocator.Restore(
        [
            new RestoredAssignment(Ask("prod", "newer", createdAt: Newer), Ip("10.0.1.2")),
            new RestoredAssignment(Ask("prod", "older", createdAt: Older), Ip("10.0.1.2")),
            new RestoredAssignment(Ask("dev", "web", createdAt: Older), Ip("10.0.0.2")),
            new RestoredAssignment(Ask("dev", "intruder", port: 443, createdAt: Older), Ip("10.0.1.1")),
            new RestoredAssignment(Ask("dev", "far", createdAt: Older), Ip("172.16.0.1")),
        ]);

        Assert.Equal(["dev/web 10.0.0.2", "prod/older 10.0.1.2"],
            report.Restored.Select(allocation => $"{allocation.Service} {allocation.Ip}").Order());
        Assert.Equal(
            [
                "dev/far: IP 172.16.0.1 is in no pool: 'default' (10.0.0.0/30), 'lan' (10.0.1.0/30)",
                "dev/intruder: IP 10.0.1.1 is in pool 'lan', which admits only namespaces prod, not 'dev'",
                "prod/newer: IP:port 10.0.1.2:80 is already allocated",
            ],
            report.Conflicts.Select(conflict => $"{conflict.Service}: {conflict.Reason}").Order());
        Assert.Equal("lan", allocator.FindPool(new ServiceKey("prod", "older")));
        Assert.Equal(Ip("10.0.0.1"), Allocated(allocator, Ask("dev", "next")).Ip);
    }

    [Fact]
    public void Reconfigure_EveryLeaseInAnAdmittingPool_KeepsEveryIpAndUsesTheNewPools()
    {
        var allocator = new PoolAllocator([Default()]);
        Allocated(allocator, Ask("a", "web"));
        var before = Describe(allocator.Leases());

        var result = allocator.Reconfigure([Default("10.0.0.0/29"), Named("lan", "10.0.1.0/30")]);

        Assert.True(result.Applied);
        Assert.Empty(result.Problems);
        Assert.Equal(before, Describe(allocator.Leases()));
        Assert.Equal(["default", "lan"], allocator.Pools.Select(pool => pool.Name));
        Assert.Equal(Ip("10.0.1.1"), Allocated(allocator, Ask("a", "db", pool: "lan")).Ip);
        Assert.Equal(Ip("10.0.0.1"), Allocated(allocator, Ask("a", "web")).Ip);
    }

    [Fact]
    public void Reconfigure_InUseIpDroppedOrNotAdmitted_IsRefusedWithEveryReasonAndChangesNothing()
    {
        var allocator = new PoolAllocator([Default(), Named("lan", "10.0.1.0/30")]);
        Allocated(allocator, Ask("a", "web"));
        Allocated(allocator, Ask("dev", "db", pool: "lan"));
        var before = Describe(allocator.Leases());

        var result = allocator.Reconfigure([Default("10.0.0.2"), Named("lan", "10.0.1.0/30", namespaces: ["prod"])]);

        Assert.False(result.Applied);
        Assert.Equal(
            [
                "IP 10.0.0.1 is in use by a/web and would be in no pool",
                "IP 10.0.1.1 is in use by dev/db and would be in pool 'lan', which admits only namespaces prod, not 'dev'",
            ],
            result.Problems);
        Assert.Equal(before, Describe(allocator.Leases()));
        Assert.Equal(["10.0.0.0/30", "10.0.1.0/30"], allocator.Pools.Select(pool => pool.Addresses.ToString()));
        Assert.Equal(Ip("10.0.0.2"), Allocated(allocator, Ask("a", "next")).Ip);
    }

    [Fact]
    public void Create_PoolsSharingAnAddress_IsABug()
    {
        var thrown = Assert.Throws<ArgumentException>(() => new PoolAllocator([Default(), Named("lan", "10.0.0.2-10.0.0.9")]));

        Assert.StartsWith("pools 'default' and 'lan' both hold 10.0.0.2", thrown.Message, StringComparison.Ordinal);
    }
}
