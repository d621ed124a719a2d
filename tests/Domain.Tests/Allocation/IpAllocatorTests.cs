using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Allocation;

public sealed class IpAllocatorTests
{
    private static readonly DateTimeOffset Older = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Newer = Older.AddDays(1);

    private static IpAllocator Allocator(string pool = DefaultPool, string? exclusions = null) =>
        new(Pool(pool, exclusions));

    private static IpAllocation Allocated(IpAllocator allocator, LoadBalancerRequest request)
    {
        var result = allocator.Allocate(request);
        Assert.True(result.Succeeded, result.Refusal?.Message);
        Assert.Null(result.Refusal);
        return result.Allocation!;
    }

    private static AllocationRefusal Refused(IpAllocator allocator, LoadBalancerRequest request)
    {
        var before = Describe(allocator.Leases());
        var count = allocator.ServiceCount;
        var result = allocator.Allocate(request);
        Assert.False(result.Succeeded);
        Assert.Null(result.Allocation);
        Assert.Equal(request.Service, result.Refusal!.Service);
        Assert.Equal(before, Describe(allocator.Leases()));
        Assert.Equal(count, allocator.ServiceCount);
        return result.Refusal;
    }

    private static string IpOf(IpAllocator allocator, LoadBalancerRequest request) =>
        Allocated(allocator, request).Ip.ToString();

    // The seed's conflict scenario, step by step.
    [Fact]
    public void Allocate_SeedConflictScenario_RefusesTakenIpThenKeepsHandingOutAndReusing()
    {
        var allocator = Allocator();

        var first = Allocated(allocator, Tcp("svc1", 80));
        Assert.Equal(Ip("192.168.0.225"), first.Ip);
        Assert.Equal(AllocationReason.New, first.Reason);
        Assert.True(first.Changed);
        Assert.Null(first.VacatedIp);
        Assert.Equal(["192.168.0.225:80"], Texts(first.Bindings));

        var refusal = Refused(allocator, Request("svc2", [ServicePort.Tcp(80)], "192.168.0.225"));
        Assert.Equal(RefusalKind.PortInUse, refusal.Kind);
        Assert.Equal("IP:port 192.168.0.225:80 is already allocated", refusal.Reason);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 192.168.0.225:80 - Reason: IP:port 192.168.0.225:80 is already allocated",
            refusal.Message);
        Assert.Equal(refusal.Message, refusal.ToString());
        Assert.Null(allocator.FindAssignment(Key("svc2")));

        var third = Allocated(allocator, Tcp("svc3", 80));
        Assert.Equal(Ip("192.168.0.226"), third.Ip);
        Assert.Equal(AllocationReason.New, third.Reason);

        var fourth = Allocated(allocator, Tcp("svc4", 443));
        Assert.Equal(Ip("192.168.0.225"), fourth.Ip);
        Assert.Equal(AllocationReason.Reused, fourth.Reason);
        Assert.Equal(["192.168.0.225:443"], Texts(fourth.Bindings));

        Assert.Equal(
            """
            192.168.0.225 (shared): 80=default/svc1, 443=default/svc4
            192.168.0.226 (shared): 80=default/svc3
            """.ReplaceLineEndings(),
            Describe(allocator.Leases()));
        Assert.Equal(3, allocator.ServiceCount);
        Assert.Equal(2, allocator.IpCount);
    }

    [Fact]
    public void Allocate_ServiceWithManyPorts_HoldsThemAll_AndAnotherSharesOnlyOnThePortsLeft()
    {
        var allocator = Allocator();
        ServicePort[] many = [.. Enumerable.Range(1000, 500).SelectMany(port => new[] { ServicePort.Tcp(port), ServicePort.Udp(port) })];

        var big = Allocated(allocator, Request("big", many));

        Assert.Equal(1000, big.Bindings.Count);
        Assert.Equal(big.Ip, Allocated(allocator, Request("beside", [ServicePort.Tcp(1500)])).Ip);
        Assert.NotEqual(big.Ip, Allocated(allocator, Request("clash", [ServicePort.Udp(1499)])).Ip);
    }

    [Fact]
    public void Allocate_ExplicitIpTakenOnSamePort_IsRejectedWithReason()
    {
        var allocator = Allocator("192.168.0.192/27");
        Allocated(allocator, Request("owner", [ServicePort.Tcp(80)], "192.168.0.194"));

        var refusal = Refused(allocator, Request("late", [ServicePort.Tcp(80)], "192.168.0.194"));

        Assert.Equal(RefusalKind.PortInUse, refusal.Kind);
        Assert.Equal("IP:port 192.168.0.194:80 is already allocated", refusal.Reason);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 192.168.0.194:80 - Reason: IP:port 192.168.0.194:80 is already allocated",
            refusal.Message);
    }

    [Fact]
    public void Allocate_ExplicitFreeIp_IsGivenEvenAboveLowerFreeOnes()
    {
        var allocator = Allocator();

        var allocation = Allocated(allocator, Request("web", [ServicePort.Tcp(80)], "192.168.0.230"));

        Assert.Equal(Ip("192.168.0.230"), allocation.Ip);
        Assert.Equal(AllocationReason.Requested, allocation.Reason);
        Assert.Equal("192.168.0.225", IpOf(allocator, Request("other", [ServicePort.Tcp(80)])));
    }

    [Fact]
    public void Allocate_ExplicitIpInUseOnOtherPorts_SharesIt()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("web", 80));

        var allocation = Allocated(allocator, Request("tls", [ServicePort.Tcp(443), ServicePort.Udp(80)], "192.168.0.225"));

        Assert.Equal(AllocationReason.Requested, allocation.Reason);
        Assert.Equal(["192.168.0.225:80/UDP", "192.168.0.225:443"], Texts(allocation.Bindings));
    }

    [Fact]
    public void Allocate_ExplicitIpWithOneOfSeveralPortsTaken_IsRefusedNamingTheTakenPort()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("tls", 443));

        var refusal = Refused(allocator, Request("web", [ServicePort.Tcp(443), ServicePort.Tcp(80)], "192.168.0.225"));

        Assert.Equal(RefusalKind.PortInUse, refusal.Kind);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 192.168.0.225:80 - Reason: IP:port 192.168.0.225:443 is already allocated",
            refusal.Message);
    }

    [Theory]
    [InlineData("10.0.0.9", RefusalKind.OutsidePool, "IP 10.0.0.9 is not in CIDR range 192.168.0.224/28 of pool 'default'")]
    [InlineData("192.168.0.224", RefusalKind.NetworkOrBroadcast, "IP 192.168.0.224 is a network or broadcast address of pool 'default'")]
    [InlineData("192.168.0.239", RefusalKind.NetworkOrBroadcast, "IP 192.168.0.239 is a network or broadcast address of pool 'default'")]
    [InlineData("192.168.0.230", RefusalKind.Excluded, "IP 192.168.0.230 is excluded from pool 'default'")]
    [InlineData("2001:db8::1", RefusalKind.OutsidePool, "IP 2001:db8::1 is not in CIDR range 192.168.0.224/28 of pool 'default'")]
    public void Allocate_ExplicitIpNotAllocatable_IsRefusedAtOnce(string ip, RefusalKind kind, string reason)
    {
        var allocator = Allocator(DefaultPool, "192.168.0.230");
        Allocated(allocator, Tcp("web", 80));

        var refusal = Refused(allocator, Request("explicit", [ServicePort.Tcp(8080)], ip));

        Assert.Equal(kind, refusal.Kind);
        Assert.Equal(reason, refusal.Reason);
        var binding = ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:8080" : $"{ip}:8080";
        Assert.Equal($"FAILED to allocate requested LoadBalancerIP {binding} - Reason: {reason}", refusal.Message);
    }

    [Fact]
    public void Allocate_ExplicitIpv4MappedIp_IsGivenAsIpv4()
    {
        var allocator = Allocator();

        var allocation = Allocated(allocator, Request("web", [ServicePort.Tcp(80)], "::ffff:192.168.0.231"));

        Assert.Equal(Ip("192.168.0.231"), allocation.Ip);
        Assert.NotNull(allocator.FindLease(Ip("192.168.0.231")));
        Assert.NotNull(allocator.FindLease(Ip("::ffff:192.168.0.231")));
    }

    [Fact]
    public void Allocate_SamePortTwice_GetsTwoNewIpsInOrder()
    {
        var allocator = Allocator();

        Assert.Equal("192.168.0.225", IpOf(allocator, Tcp("a", 80)));
        Assert.Equal("192.168.0.226", IpOf(allocator, Tcp("b", 80)));
        Assert.Equal("192.168.0.227", IpOf(allocator, Tcp("c", 80)));
    }

    [Fact]
    public void Allocate_TcpAndUdpOnSameNumber_ShareAnIp()
    {
        var allocator = Allocator();
        Allocated(allocator, Request("dns-tcp", [ServicePort.Tcp(53)]));

        var udp = Allocated(allocator, Request("dns-udp", [ServicePort.Udp(53)]));

        Assert.Equal(Ip("192.168.0.225"), udp.Ip);
        Assert.Equal(AllocationReason.Reused, udp.Reason);
        Assert.Equal(["192.168.0.225:53/UDP"], Texts(udp.Bindings));
    }

    [Fact]
    public void Allocate_Reuse_PicksLowestInUseIpWithAllPortsFree()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));  // .225
        Allocated(allocator, Tcp("b", 80));  // .226
        Allocated(allocator, Tcp("c", 443)); // reuses .225
        Allocated(allocator, Tcp("d", 80));  // .227

        var both = Allocated(allocator, Tcp("e", 8080, 443));

        Assert.Equal(Ip("192.168.0.226"), both.Ip);
        Assert.Equal(AllocationReason.Reused, both.Reason);
        Assert.Equal(["192.168.0.226:443", "192.168.0.226:8080"], Texts(both.Bindings));
    }

    [Fact]
    public void Allocate_MultiPortServiceWithNoIpHavingAllPortsFree_TakesANewIpWithAllPorts()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));  // .225
        Allocated(allocator, Tcp("b", 443)); // reuses .225
        Allocated(allocator, Tcp("c", 443)); // .226

        var both = Allocated(allocator, Tcp("web", 80, 443));

        Assert.Equal(Ip("192.168.0.227"), both.Ip);
        Assert.Equal(AllocationReason.New, both.Reason);
        Assert.Equal(["192.168.0.227:80", "192.168.0.227:443"], Texts(both.Bindings));
    }

    [Fact]
    public void Allocate_PoolExhaustedForPort_IsRefusedNamingThePort()
    {
        var allocator = Allocator("10.0.0.1-10.0.0.2");
        Allocated(allocator, Tcp("a", 80));
        Allocated(allocator, Tcp("b", 80));

        var refusal = Refused(allocator, Tcp("c", 80));

        Assert.Equal(RefusalKind.PoolExhausted, refusal.Kind);
        Assert.Equal("no available IPs for port 80 in pool 'default'", refusal.Reason);
        Assert.Equal("no available IPs for port 80 in pool 'default'", refusal.Message);
    }

    [Fact]
    public void Allocate_PoolExhaustedForSeveralPorts_ListsThemAllWithUdpSuffix()
    {
        var allocator = Allocator("10.0.0.1");
        Allocated(allocator, Tcp("a", 80));

        Assert.Equal("no available IPs for ports 80, 443 in pool 'default'", Refused(allocator, Tcp("b", 443, 80)).Message);
        Assert.Equal("no available IPs for port 53/UDP in pool 'default'",
            Refused(allocator, Request("c", [ServicePort.Udp(53)], sharing: IpSharing.Exclusive)).Message);
        Assert.Equal("no available IPs for ports 53, 53/UDP, 80 in pool 'default'",
            Refused(allocator, Request("d", [ServicePort.Tcp(80), ServicePort.Udp(53), ServicePort.Tcp(53)])).Message);
    }

    [Fact]
    public void Allocate_PoolExhaustedButPortFreeOnUsedIp_Reuses()
    {
        var allocator = Allocator("10.0.0.1");
        Allocated(allocator, Tcp("a", 80));

        var reused = Allocated(allocator, Tcp("b", 443));

        Assert.Equal(Ip("10.0.0.1"), reused.Ip);
        Assert.Equal(AllocationReason.Reused, reused.Reason);
    }

    [Fact]
    public void Allocate_ExclusiveService_IsNeverReusedByOthers()
    {
        var allocator = Allocator();
        Allocated(allocator, Request("alone", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive));

        Assert.Equal("192.168.0.226", IpOf(allocator, Tcp("web", 443)));
        Assert.Equal("192.168.0.227", IpOf(allocator, Request("k", [ServicePort.Tcp(443)], sharing: IpSharing.WithKey("k"))));
        var refusal = Refused(allocator, Request("explicit", [ServicePort.Tcp(8080)], "192.168.0.225"));
        Assert.Equal(RefusalKind.NotShareable, refusal.Kind);
        Assert.Equal(
            "IP 192.168.0.225 is held by default/alone (exclusive) and cannot be shared with a shared service",
            refusal.Reason);
    }

    [Fact]
    public void Allocate_ExclusiveService_NeverReusesOthers()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("web", 80));

        var alone = Allocated(allocator, Request("alone", [ServicePort.Tcp(443)], sharing: IpSharing.Exclusive));
        Assert.Equal(Ip("192.168.0.226"), alone.Ip);
        Assert.Equal(AllocationReason.New, alone.Reason);

        var refusal = Refused(allocator,
            Request("explicit", [ServicePort.Tcp(443)], "192.168.0.225", IpSharing.Exclusive));
        Assert.Equal(RefusalKind.NotShareable, refusal.Kind);
        Assert.Equal(
            "IP 192.168.0.225 is held by default/web (shared) and cannot be shared with a exclusive service",
            refusal.Reason);
    }

    [Fact]
    public void Allocate_TwoExclusiveServices_CannotShareEvenExplicitly()
    {
        var allocator = Allocator();
        Allocated(allocator, Request("a", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive));

        Assert.Equal("192.168.0.226", IpOf(allocator, Request("b", [ServicePort.Tcp(443)], sharing: IpSharing.Exclusive)));
        Assert.Equal(RefusalKind.NotShareable,
            Refused(allocator, Request("c", [ServicePort.Tcp(443)], "192.168.0.225", IpSharing.Exclusive)).Kind);
    }

    [Fact]
    public void Allocate_SharingKey_SharesOnlyWithTheSameKey()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("plain", 80));                                                                    // .225
        Allocated(allocator, Request("k1", [ServicePort.Tcp(80)], sharing: IpSharing.WithKey("k")));               // .226

        var sameKey = Allocated(allocator, Request("k2", [ServicePort.Tcp(443)], sharing: IpSharing.WithKey("k")));
        var otherKey = Allocated(allocator, Request("o1", [ServicePort.Tcp(443)], sharing: IpSharing.WithKey("other")));
        var plain = Allocated(allocator, Tcp("plain2", 443));

        Assert.Equal((Ip("192.168.0.226"), AllocationReason.Reused), (sameKey.Ip, sameKey.Reason));
        Assert.Equal((Ip("192.168.0.227"), AllocationReason.New), (otherKey.Ip, otherKey.Reason));
        Assert.Equal((Ip("192.168.0.225"), AllocationReason.Reused), (plain.Ip, plain.Reason));
        Assert.Equal(IpSharing.WithKey("k"), allocator.FindLease(Ip("192.168.0.226"))!.Sharing);
    }

    [Fact]
    public void Allocate_ExplicitIpWithOtherSharingKey_IsNotShareable()
    {
        var allocator = Allocator();
        Allocated(allocator, Request("k1", [ServicePort.Tcp(80)], sharing: IpSharing.WithKey("k")));

        var keyed = Refused(allocator, Request("o1", [ServicePort.Tcp(443)], "192.168.0.225", IpSharing.WithKey("other")));
        var plain = Refused(allocator, Request("p1", [ServicePort.Tcp(443)], "192.168.0.225"));
        var sameKey = Allocated(allocator, Request("k2", [ServicePort.Tcp(443)], "192.168.0.225", IpSharing.WithKey("k")));

        Assert.Equal(RefusalKind.NotShareable, keyed.Kind);
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP 192.168.0.225:443 - Reason: IP 192.168.0.225 is held by default/k1 (sharing key 'k') and cannot be shared with a sharing key 'other' service",
            keyed.Message);
        Assert.Equal(RefusalKind.NotShareable, plain.Kind);
        Assert.Equal(AllocationReason.Requested, sameKey.Reason);
    }

    [Fact]
    public void Release_FreesTheServicesBindingsForOthers()
    {
        var allocator = Allocator("10.0.0.1");
        Allocated(allocator, Tcp("a", 80, 443));
        Allocated(allocator, Tcp("b", 8080));

        var release = allocator.Release(Key("a"));

        Assert.Equal(Key("a"), release.Service);
        Assert.Equal(Ip("10.0.0.1"), release.Ip);
        Assert.True(release.WasAllocated);
        Assert.False(release.IpUnused);
        Assert.Equal(["10.0.0.1:80", "10.0.0.1:443"], Texts(release.Freed));
        Assert.Null(allocator.FindAssignment(Key("a")));
        Assert.Equal("10.0.0.1 (shared): 8080=default/b", Describe(allocator.Leases()));
        Assert.Equal("10.0.0.1", IpOf(allocator, Tcp("c", 80)));
    }

    [Fact]
    public void Release_ThreeServicesOnOneIp_OnlyTheLastSaysIpUnused()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));
        Allocated(allocator, Tcp("b", 443));
        Allocated(allocator, Tcp("c", 8080));

        Assert.False(allocator.Release(Key("b")).IpUnused);
        Assert.False(allocator.Release(Key("a")).IpUnused);
        var last = allocator.Release(Key("c"));

        Assert.True(last.IpUnused);
        Assert.Equal(Ip("192.168.0.225"), last.Ip);
        Assert.Empty(allocator.Leases());
        Assert.Equal(0, allocator.IpCount);
        Assert.Null(allocator.FindLease(Ip("192.168.0.225")));
    }

    [Fact]
    public void Release_UnknownService_IsHarmless()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));
        var before = Describe(allocator.Leases());

        var release = allocator.Release(Key("ghost"));

        Assert.Equal(Key("ghost"), release.Service);
        Assert.Null(release.Ip);
        Assert.Empty(release.Freed);
        Assert.False(release.IpUnused);
        Assert.False(release.WasAllocated);
        Assert.Equal(before, Describe(allocator.Leases()));

        Assert.True(allocator.Release(Key("a")).WasAllocated);
        var twice = allocator.Release(Key("a"));
        Assert.False(twice.WasAllocated);
        Assert.Empty(twice.Freed);
    }

    [Fact]
    public void Release_FreedAddresses_AreHandedOutAgainLowestFirst()
    {
        var allocator = Allocator();
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            Allocated(allocator, Request(name, [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive)); // .225-.228
        }

        Assert.True(allocator.Release(Key("c")).IpUnused);
        Assert.True(allocator.Release(Key("a")).IpUnused);

        Assert.Equal("192.168.0.225", IpOf(allocator, Tcp("e", 80)));
        Assert.Equal("192.168.0.227", IpOf(allocator, Tcp("f", 80)));
        Assert.Equal("192.168.0.229", IpOf(allocator, Tcp("g", 80)));
    }

    [Fact]
    public void Allocate_UnchangedRequest_KeepsTheIpWithoutChange()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));
        var first = Allocated(allocator, Tcp("b", 80, 443));
        var before = Describe(allocator.Leases());

        var again = Allocated(allocator, Request("b", [ServicePort.Tcp(443), ServicePort.Tcp(80)], createdAt: Newer));

        Assert.Equal(first.Ip, again.Ip);
        Assert.False(again.Changed);
        Assert.Equal(AllocationReason.Kept, again.Reason);
        Assert.Null(again.VacatedIp);
        Assert.Equal(Texts(first.Bindings), Texts(again.Bindings));
        Assert.Equal(before, Describe(allocator.Leases()));
    }

    [Fact]
    public void Allocate_UnchangedExplicitRequest_IsKept()
    {
        var allocator = Allocator();
        var request = Request("a", [ServicePort.Tcp(80)], "192.168.0.233");
        Allocated(allocator, request);

        var again = Allocated(allocator, request);

        Assert.Equal((Ip("192.168.0.233"), AllocationReason.Kept, false), (again.Ip, again.Reason, again.Changed));
    }

    [Fact]
    public void Allocate_PortAddedThatIsFreeOnCurrentIp_StaysOnIt()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));   // .225
        Allocated(allocator, Tcp("b", 80));   // .226
        Allocated(allocator, Tcp("c", 443));  // .225

        var grown = Allocated(allocator, Tcp("b", 80, 8080));

        Assert.Equal(Ip("192.168.0.226"), grown.Ip);
        Assert.Equal(AllocationReason.Kept, grown.Reason);
        Assert.True(grown.Changed);
        Assert.Null(grown.VacatedIp);
        Assert.Equal(["192.168.0.226:80", "192.168.0.226:8080"], Texts(grown.Bindings));
    }

    [Fact]
    public void Allocate_PortAddedThatClashesOnCurrentIp_MovesWithAllPortsAndFreesTheOldPort()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));  // .225
        Allocated(allocator, Tcp("b", 80));  // .226
        Allocated(allocator, Tcp("c", 443)); // .225

        var moved = Allocated(allocator, Tcp("c", 443, 80));

        Assert.Equal(Ip("192.168.0.227"), moved.Ip);
        Assert.Equal(AllocationReason.New, moved.Reason);
        Assert.True(moved.Changed);
        Assert.Null(moved.VacatedIp); // default/a still uses .225
        Assert.Equal(["192.168.0.227:80", "192.168.0.227:443"], Texts(moved.Bindings));
        Assert.Equal("192.168.0.225 (shared): 80=default/a", Describe(allocator.Leases().Take(1)));
        Assert.Equal("192.168.0.225", IpOf(allocator, Tcp("d", 443)));
    }

    [Fact]
    public void Allocate_ExplicitIpDropped_KeepsTheCurrentIp()
    {
        var allocator = Allocator();
        Allocated(allocator, Request("a", [ServicePort.Tcp(80)], "192.168.0.233"));

        var kept = Allocated(allocator, Tcp("a", 80));

        Assert.Equal((Ip("192.168.0.233"), AllocationReason.Kept, true, (IPAddress?)null),
            (kept.Ip, kept.Reason, kept.Changed, kept.VacatedIp));
    }

    [Fact]
    public void Allocate_ExplicitIpChangedOffASharedIp_MovesWithoutVacating()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));
        Allocated(allocator, Tcp("b", 443));

        var moved = Allocated(allocator, Request("b", [ServicePort.Tcp(443)], "192.168.0.225"));
        Assert.Equal((Ip("192.168.0.225"), AllocationReason.Kept, (IPAddress?)null), (moved.Ip, moved.Reason, moved.VacatedIp));

        moved = Allocated(allocator, Request("b", [ServicePort.Tcp(443)], "192.168.0.238"));
        Assert.Equal((Ip("192.168.0.238"), AllocationReason.Requested, (IPAddress?)null), (moved.Ip, moved.Reason, moved.VacatedIp));

        moved = Allocated(allocator, Request("a", [ServicePort.Tcp(80)], "192.168.0.238"));
        Assert.Equal((Ip("192.168.0.238"), AllocationReason.Requested, Ip("192.168.0.225")), (moved.Ip, moved.Reason, moved.VacatedIp));
    }

    [Fact]
    public void Allocate_PortAddedThatClashes_MovesToReusableIpAndLeavesOthersInPlace()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));   // .225
        Allocated(allocator, Tcp("b", 443));  // .225
        Allocated(allocator, Tcp("c", 80));   // .226

        var moved = Allocated(allocator, Tcp("b", 443, 80));

        Assert.Equal(Ip("192.168.0.227"), moved.Ip);
        Assert.Null(moved.VacatedIp);
        Assert.Equal(
            """
            192.168.0.225 (shared): 80=default/a
            192.168.0.226 (shared): 80=default/c
            192.168.0.227 (shared): 80=default/b, 443=default/b
            """.ReplaceLineEndings(),
            Describe(allocator.Leases()));

        var back = Allocated(allocator, Tcp("c", 80, 8080));
        Assert.Equal(Ip("192.168.0.226"), back.Ip);
        Assert.Equal(AllocationReason.Kept, back.Reason);
    }

    [Fact]
    public void Allocate_ChangedRequestThatMoves_ReusesLowestCompatibleIp()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));  // .225
        Allocated(allocator, Tcp("b", 80));  // .226
        Allocated(allocator, Tcp("c", 443)); // .225

        var moved = Allocated(allocator, Tcp("c", 443, 80));

        Assert.Equal(Ip("192.168.0.227"), moved.Ip);
        Assert.Equal(Ip("192.168.0.225"), allocator.FindAssignment(Key("a"))!.Ip);
        Assert.Null(moved.VacatedIp);

        var d = Allocated(allocator, Tcp("d", 8080, 443));
        Assert.Equal((Ip("192.168.0.225"), AllocationReason.Reused), (d.Ip, d.Reason));
    }

    [Fact]
    public void Allocate_PortRemoved_StaysAndFreesThePort()
    {
        var allocator = Allocator("10.0.0.1");
        Allocated(allocator, Tcp("a", 80, 443));

        var shrunk = Allocated(allocator, Tcp("a", 80));

        Assert.Equal((Ip("10.0.0.1"), AllocationReason.Kept, true), (shrunk.Ip, shrunk.Reason, shrunk.Changed));
        Assert.Equal(["10.0.0.1:80"], Texts(shrunk.Bindings));
        Assert.Equal("10.0.0.1", IpOf(allocator, Tcp("b", 443)));
    }

    [Fact]
    public void Allocate_ExplicitIpChanged_MovesToItAndVacatesTheOld()
    {
        var allocator = Allocator();
        Allocated(allocator, Request("a", [ServicePort.Tcp(80)], "192.168.0.230"));

        var moved = Allocated(allocator, Request("a", [ServicePort.Tcp(80)], "192.168.0.231"));

        Assert.Equal(Ip("192.168.0.231"), moved.Ip);
        Assert.Equal(AllocationReason.Requested, moved.Reason);
        Assert.True(moved.Changed);
        Assert.Equal(Ip("192.168.0.230"), moved.VacatedIp);
        Assert.Equal("192.168.0.231 (shared): 80=default/a", Describe(allocator.Leases()));
    }

    [Fact]
    public void Allocate_ExplicitIpAddedForCurrentIp_IsKept()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("x", 80));
        Allocated(allocator, Tcp("a", 80)); // .226

        var pinned = Allocated(allocator, Request("a", [ServicePort.Tcp(80)], "192.168.0.226"));

        Assert.Equal((Ip("192.168.0.226"), AllocationReason.Kept, (IPAddress?)null), (pinned.Ip, pinned.Reason, pinned.VacatedIp));
    }

    [Fact]
    public void Allocate_ChangedRequestRefused_LeavesTheOldAssignmentIntact()
    {
        var allocator = Allocator("10.0.0.1-10.0.0.2");
        Allocated(allocator, Tcp("a", 80));        // .1
        Allocated(allocator, Tcp("b", 80));        // .2
        Allocated(allocator, Tcp("c", 443));       // .1
        var before = allocator.FindAssignment(Key("c"))!;

        var refusal = Refused(allocator, Tcp("c", 443, 80));

        Assert.Equal(RefusalKind.PoolExhausted, refusal.Kind);
        Assert.Equal("no available IPs for ports 80, 443 in pool 'default'", refusal.Message);
        var after = allocator.FindAssignment(Key("c"))!;
        Assert.Equal(before.Ip, after.Ip);
        Assert.Equal(Texts(before.Bindings), Texts(after.Bindings));
        Assert.Equal(AllocationReason.Reused, after.Reason);

        var unchanged = Allocated(allocator, Tcp("c", 443));
        Assert.False(unchanged.Changed);
        Assert.Equal(Ip("10.0.0.1"), unchanged.Ip);
    }

    [Fact]
    public void Allocate_ChangedRequestRefusedWhenAloneOnIp_KeepsTheIpOutOfTheFreeList()
    {
        var allocator = Allocator("10.0.0.1-10.0.0.3");
        Allocated(allocator, Tcp("a", 80));  // .1
        Allocated(allocator, Tcp("b", 80));  // .2

        var refusal = Refused(allocator, Request("a", [ServicePort.Tcp(80)], "10.0.0.2"));

        Assert.Equal(RefusalKind.PortInUse, refusal.Kind);
        Assert.Equal(Ip("10.0.0.1"), allocator.FindAssignment(Key("a"))!.Ip);
        Assert.Equal("10.0.0.3", IpOf(allocator, Tcp("c", 80)));
        Assert.Equal("no available IPs for port 80 in pool 'default'", Refused(allocator, Tcp("d", 80)).Message);
    }

    [Fact]
    public void Allocate_SharingChangedToExclusiveWhileSharing_MovesToOwnIp()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));
        Allocated(allocator, Tcp("b", 443));

        var moved = Allocated(allocator, Request("b", [ServicePort.Tcp(443)], sharing: IpSharing.Exclusive));

        Assert.Equal((Ip("192.168.0.226"), AllocationReason.New, (IPAddress?)null), (moved.Ip, moved.Reason, moved.VacatedIp));
        Assert.Equal(IpSharing.Exclusive, allocator.FindLease(Ip("192.168.0.226"))!.Sharing);
    }

    [Fact]
    public void Allocate_SharingChangedWhileAlone_KeepsTheIpWithNewSharing()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));

        var kept = Allocated(allocator, Request("a", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive));

        Assert.Equal((Ip("192.168.0.225"), AllocationReason.Kept), (kept.Ip, kept.Reason));
        Assert.Equal(IpSharing.Exclusive, allocator.FindLease(Ip("192.168.0.225"))!.Sharing);
        Assert.Equal("192.168.0.226", IpOf(allocator, Tcp("b", 443)));
    }

    [Fact]
    public void Restore_SeedsAssignmentsThatNewAllocationsRespect()
    {
        var allocator = Allocator();

        var report = allocator.Restore(
        [
            new RestoredAssignment(Tcp("web", 80), Ip("192.168.0.225")),
            new RestoredAssignment(Tcp("tls", 443), Ip("192.168.0.225")),
            new RestoredAssignment(Request("solo", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive), Ip("192.168.0.227")),
        ]);

        Assert.Empty(report.Conflicts);
        Assert.Equal(
            ["default/solo@192.168.0.227", "default/tls@192.168.0.225", "default/web@192.168.0.225"],
            report.Restored.Select(allocation => $"{allocation.Service}@{allocation.Ip}"));
        Assert.All(report.Restored, allocation => Assert.Equal(AllocationReason.Kept, allocation.Reason));

        var next = Allocated(allocator, Tcp("next", 80));
        Assert.Equal((Ip("192.168.0.226"), AllocationReason.New), (next.Ip, next.Reason));
        Assert.Equal("192.168.0.228", IpOf(allocator, Tcp("after", 80)));
        Assert.Equal("192.168.0.225", IpOf(allocator, Tcp("alt", 8080)));
    }

    [Fact]
    public void Restore_ThenUnchangedAllocate_KeepsTheRestoredIp()
    {
        var allocator = Allocator();
        allocator.Restore([new RestoredAssignment(Tcp("web", 80, 443), Ip("192.168.0.236"))]);

        var kept = Allocated(allocator, Tcp("web", 443, 80));

        Assert.Equal((Ip("192.168.0.236"), AllocationReason.Kept, false), (kept.Ip, kept.Reason, kept.Changed));
        Assert.Equal(["192.168.0.236:80", "192.168.0.236:443"], Texts(kept.Bindings));
    }

    [Fact]
    public void Restore_StatusIpDiffersFromLoadBalancerIp_KeepsStatusIpThenMovesOnNextAllocate()
    {
        var allocator = Allocator();
        var request = Request("web", [ServicePort.Tcp(80)], ip: "192.168.0.231");

        var report = allocator.Restore([new RestoredAssignment(request, Ip("192.168.0.230"))]);
        var moved = Allocated(allocator, request);

        Assert.Equal(Ip("192.168.0.230"), Assert.Single(report.Restored).Ip);
        Assert.Equal((Ip("192.168.0.231"), AllocationReason.Requested, true), (moved.Ip, moved.Reason, moved.Changed));
        Assert.Equal(Ip("192.168.0.230"), moved.VacatedIp);
    }

    [Fact]
    public void Restore_ClashOnAPort_OlderServiceKeepsTheIp()
    {
        var allocator = Allocator();

        var report = allocator.Restore(
        [
            new RestoredAssignment(Request("young", [ServicePort.Tcp(80)], createdAt: Newer), Ip("192.168.0.230")),
            new RestoredAssignment(Request("old", [ServicePort.Tcp(80)], createdAt: Older), Ip("192.168.0.230")),
        ]);

        Assert.Equal(["default/old"], report.Restored.Select(allocation => allocation.Service.ToString()));
        var conflict = Assert.Single(report.Conflicts);
        Assert.Equal(
            new RestoreConflict(Key("young"), Ip("192.168.0.230"), "IP:port 192.168.0.230:80 is already allocated", Key("old")),
            conflict);
        Assert.Equal(Ip("192.168.0.230"), allocator.FindAssignment(Key("old"))!.Ip);
        Assert.Null(allocator.FindAssignment(Key("young")));

        var young = Allocated(allocator, Request("young", [ServicePort.Tcp(80)], createdAt: Newer));
        Assert.Equal((Ip("192.168.0.225"), AllocationReason.New), (young.Ip, young.Reason));
    }

    [Fact]
    public void Restore_SameCreationTime_OrdersByServiceKey()
    {
        var allocator = Allocator();

        var report = allocator.Restore(
        [
            new RestoredAssignment(Tcp("b", 80), Ip("192.168.0.230")),
            new RestoredAssignment(Tcp("a", 80), Ip("192.168.0.230")),
        ]);

        Assert.Equal(Key("a"), Assert.Single(report.Restored).Service);
        Assert.Equal(Key("a"), Assert.Single(report.Conflicts).HeldBy);
    }

    [Fact]
    public void Restore_ClashOnSharing_ReportsNotShareableWithHolder()
    {
        var allocator = Allocator();

        var report = allocator.Restore(
        [
            new RestoredAssignment(Request("shared", [ServicePort.Tcp(443)], createdAt: Newer), Ip("192.168.0.230")),
            new RestoredAssignment(Request("solo", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive, createdAt: Older), Ip("192.168.0.230")),
        ]);

        Assert.Equal(
            new RestoreConflict(Key("shared"), Ip("192.168.0.230"),
                "IP 192.168.0.230 is held by default/solo (exclusive) and cannot be shared with a shared service", Key("solo")),
            Assert.Single(report.Conflicts));
    }

    [Fact]
    public void Restore_IpOutsidePool_IsReportedWithoutHolder()
    {
        var allocator = Allocator(DefaultPool, "192.168.0.231");

        var report = allocator.Restore(
        [
            new RestoredAssignment(Tcp("far", 80), Ip("10.0.0.9")),
            new RestoredAssignment(Tcp("net", 80), Ip("192.168.0.224")),
            new RestoredAssignment(Tcp("excl", 80), Ip("192.168.0.231")),
            new RestoredAssignment(Tcp("fine", 80), Ip("192.168.0.232")),
        ]);

        Assert.Equal([Key("fine")], report.Restored.Select(allocation => allocation.Service));
        Assert.Equal(
            [
                new RestoreConflict(Key("excl"), Ip("192.168.0.231"), "IP 192.168.0.231 is excluded from pool 'default'", null),
                new RestoreConflict(Key("far"), Ip("10.0.0.9"), "IP 10.0.0.9 is not in CIDR range 192.168.0.224/28 of pool 'default'", null),
                new RestoreConflict(Key("net"), Ip("192.168.0.224"), "IP 192.168.0.224 is a network or broadcast address of pool 'default'", null),
            ],
            report.Conflicts);
        Assert.Equal("192.168.0.232 (shared): 80=default/fine", Describe(allocator.Leases()));
    }

    [Fact]
    public void Restore_SameServiceTwiceOnDifferentIps_KeepsTheFirst()
    {
        var allocator = Allocator();

        var report = allocator.Restore(
        [
            new RestoredAssignment(Tcp("web", 80), Ip("192.168.0.226")),
            new RestoredAssignment(Tcp("web", 80), Ip("192.168.0.227")),
            new RestoredAssignment(Tcp("web", 80), Ip("192.168.0.226")),
        ]);

        Assert.Single(report.Restored);
        Assert.Equal(
            new RestoreConflict(Key("web"), Ip("192.168.0.227"), "service default/web is already assigned 192.168.0.226", null),
            Assert.Single(report.Conflicts));
        Assert.Equal("192.168.0.226 (shared): 80=default/web", Describe(allocator.Leases()));
    }

    [Fact]
    public void Allocate_Ipv6Pool_HandsOutFromTheFirstAddress()
    {
        var allocator = Allocator("2001:db8::/120");

        Assert.Equal("2001:db8::", IpOf(allocator, Tcp("a", 80)));
        Assert.Equal("2001:db8::1", IpOf(allocator, Tcp("b", 80)));
        Assert.Equal("2001:db8::", IpOf(allocator, Tcp("c", 443)));

        var refusal = Refused(allocator, Request("d", [ServicePort.Tcp(80)], "2001:db8::1"));
        Assert.Equal(
            "FAILED to allocate requested LoadBalancerIP [2001:db8::1]:80 - Reason: IP:port [2001:db8::1]:80 is already allocated",
            refusal.Message);
        Assert.Equal("[2001:db8::1]:80", Texts(allocator.FindAssignment(Key("b"))!.Bindings)[0]);
    }

    [Fact]
    public void Allocate_Ipv6Range_IsExhaustedAfterItsAddresses()
    {
        var allocator = Allocator("2001:db8::10-2001:db8::12");

        Assert.Equal("2001:db8::10", IpOf(allocator, Tcp("a", 80)));
        Assert.Equal("2001:db8::11", IpOf(allocator, Tcp("b", 80)));
        Assert.Equal("2001:db8::12", IpOf(allocator, Tcp("c", 80)));
        Assert.Equal(RefusalKind.PoolExhausted, Refused(allocator, Tcp("d", 80)).Kind);
    }

    [Fact]
    public void Allocate_MixedPool_HandsOutIpv4BeforeIpv6()
    {
        var allocator = Allocator("2001:db8::/127, 10.0.0.0/30");

        Assert.Equal(
            ["10.0.0.1", "10.0.0.2", "2001:db8::", "2001:db8::1"],
            Enumerable.Range(0, 4).Select(i => IpOf(allocator, Request($"s{i}", [ServicePort.Tcp(80)], sharing: IpSharing.Exclusive))));
        Assert.Equal(["10.0.0.1", "10.0.0.2", "2001:db8::", "2001:db8::1"],
            allocator.Leases().Select(lease => lease.Ip.ToString()));
    }

    [Fact]
    public void Allocate_AcrossReuseIndexThreshold_StaysLowestFirst()
    {
        var allocator = Allocator("10.0.0.0/24");
        const int Web = 100;
        for (var i = 1; i <= Web; i++)
        {
            Assert.Equal($"10.0.0.{i}", IpOf(allocator, Tcp($"web{i:000}", 80)));
        }

        for (var i = 1; i <= 40; i++)
        {
            var tls = Allocated(allocator, Tcp($"tls{i:000}", 443));
            Assert.Equal((Ip($"10.0.0.{i}"), AllocationReason.Reused), (tls.Ip, tls.Reason));
        }

        Assert.False(allocator.Release(Key("web020")).IpUnused);
        var refill = Allocated(allocator, Tcp("web-refill", 80));
        Assert.Equal((Ip("10.0.0.20"), AllocationReason.Reused), (refill.Ip, refill.Reason));

        Assert.True(allocator.Release(Key("web070")).IpUnused);
        Assert.Equal("10.0.0.41", IpOf(allocator, Tcp("tls041", 443)));
        var back = Allocated(allocator, Tcp("web-back", 80));
        Assert.Equal((Ip("10.0.0.70"), AllocationReason.New), (back.Ip, back.Reason));

        Assert.Equal("10.0.0.101", IpOf(allocator, Tcp("both", 80, 443)));
        Assert.Equal("10.0.0.42", IpOf(allocator, Tcp("tls-alt", 443, 8080)));

        // Free port 80 in the middle and at the start: the lowest one is taken first.
        allocator.Release(Key("web050"));
        allocator.Release(Key("web003"));
        Assert.Equal("10.0.0.3", IpOf(allocator, Tcp("web-x", 80)));
        Assert.Equal("10.0.0.50", IpOf(allocator, Tcp("web-y", 80, 8443)));
        Assert.Equal("10.0.0.102", IpOf(allocator, Tcp("web-z", 80)));
    }

    [Fact]
    public void Allocate_AcrossReuseIndexThresholdWithReleases_MatchesLowestFreePort()
    {
        var allocator = Allocator("10.0.0.0/24");
        var holders = ReuseIndex.IndexThreshold + 8;
        for (var i = 1; i <= holders; i++)
        {
            Allocated(allocator, Tcp($"web{i:000}", 80));
            Allocated(allocator, Tcp($"tls{i:000}", 443));
        }

        // Drop below the threshold and back above it: the free set must follow.
        for (var i = holders; i > 10; i--)
        {
            allocator.Release(Key($"web{i:000}"));
        }

        Assert.Equal("10.0.0.11", IpOf(allocator, Tcp("again011", 80)));
        for (var i = 12; i <= holders + 5; i++)
        {
            Assert.Equal($"10.0.0.{i}", IpOf(allocator, Tcp($"again{i:000}", 80)));
        }

        Assert.Equal($"10.0.0.{holders + 1}", IpOf(allocator, Tcp("tls-more", 443)));
    }

    [Fact]
    public void FindAssignment_ReportsTheOriginalReasonWithoutChange()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("a", 80));
        Allocated(allocator, Tcp("b", 443));

        var found = allocator.FindAssignment(Key("b"))!;

        Assert.Equal((Ip("192.168.0.225"), AllocationReason.Reused, false), (found.Ip, found.Reason, found.Changed));
        Assert.Equal(["192.168.0.225:443"], Texts(found.Bindings));
        Assert.Null(allocator.FindAssignment(Key("nobody")));
    }

    [Fact]
    public void FindLease_ListsEveryOwnerInOrder()
    {
        var allocator = Allocator();
        Allocated(allocator, Tcp("zeta", 80));
        Allocated(allocator, Tcp("alpha", 443, 8080));

        var lease = allocator.FindLease(Ip("192.168.0.225"))!;

        Assert.Equal([Key("alpha"), Key("zeta")], lease.Owners);
        Assert.Equal(["192.168.0.225:80", "192.168.0.225:443", "192.168.0.225:8080"],
            Texts(lease.Ports.Select(port => port.Binding)));
        Assert.Equal(IpSharing.Shared, lease.Sharing);
    }
}
