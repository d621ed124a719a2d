using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// Allocates per (Service, family): one <see cref="PoolAllocator"/> per family, each built from the pools restricted
/// to that family's addresses (a pool with no address of a family is absent from that family's allocator). So every
/// guarantee of the pool allocator (determinism, sharing rules, ports free, the older Service winning on restore,
/// O(log n)) holds within each family, and the families never interfere. A dual-stack request is all or nothing when it
/// requires both families: a refused second family puts the first back exactly as it was. Not thread-safe: callers
/// serialise.
/// </summary>
public sealed class DualStackAllocator
{
    private IReadOnlyList<AddressPool> _pools;
    private Dictionary<IpFamily, PoolAllocator> _byFamily;

    /// <summary>The families each Service holds, primary first (the order of its status ingress).</summary>
    private readonly Dictionary<ServiceKey, List<IpFamily>> _held = [];

    /// <param name="pools">In the order a Service without a request tries them: <c>default</c> first, then file order.</param>
    public DualStackAllocator(IReadOnlyList<AddressPool> pools)
    {
        _ = new PoolAllocator(pools); // validates the whole set: names unique, no address in two pools
        _pools = pools;
        _byFamily = Split(pools);
    }

    public IReadOnlyList<AddressPool> Definitions => _pools;

    /// <summary>Every pool in order with its use, both families summed.</summary>
    public IReadOnlyList<PoolUsage> Pools
    {
        get
        {
            var used = _byFamily.Values.SelectMany(allocator => allocator.Pools)
                .GroupBy(usage => usage.Name, StringComparer.Ordinal)
                .ToDictionary(group => group.Key, group => group.Sum(usage => usage.Used), StringComparer.Ordinal);
            return [.. _pools.Select(pool => new PoolUsage(pool.Name, pool.Addresses, pool.Addresses.Size, used.GetValueOrDefault(pool.Name)))];
        }
    }

    /// <summary>Whether some pool has addresses of <paramref name="family"/>.</summary>
    public bool Serves(IpFamily family) => _byFamily.ContainsKey(family);

    public StackAllocationResult Allocate(LoadBalancerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Pool is { } asked && !_pools.Any(pool => pool.Name == asked))
        {
            var reason = $"pool '{asked}' does not exist; the pools are {string.Join(", ", _pools.Select(pool => $"'{pool.Name}'"))}";
            return StackAllocationResult.Refused(new AllocationRefusal(request.Service, RefusalKind.UnknownPool, reason, reason));
        }

        return request.FamilyPolicy == IpFamilyPolicy.SingleStack ? AllocateSingle(request) : AllocateDual(request);
    }

    public IReadOnlyList<IpRelease> Release(ServiceKey service)
    {
        if (!_held.Remove(service, out var families))
        {
            return [];
        }

        return [.. families.Select(family => _byFamily[family].Release(service)).Where(release => release.WasAllocated)];
    }

    /// <summary>
    /// Seeds each family's pools with the assignments that already exist (each IP into its family, oldest Service first
    /// within a family). A Service's families are ordered as its request lists them, else as the assignments came.
    /// </summary>
    public RestoreReport Restore(IEnumerable<RestoredAssignment> assignments)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        var list = assignments.ToList();
        var restored = new List<IpAllocation>();
        var conflicts = new List<RestoreConflict>();
        foreach (var byFamily in list.GroupBy(assignment => IpFamilies.Of(assignment.Ip)))
        {
            if (!_byFamily.TryGetValue(byFamily.Key, out var allocator))
            {
                conflicts.AddRange(byFamily.Select(assignment => new RestoreConflict(assignment.Request.Service, assignment.Ip,
                    $"IP {assignment.Ip} is in no pool: {NoFamilyText(byFamily.Key)}", null)));
                continue;
            }

            var report = allocator.Restore([.. byFamily.Select(assignment =>
                new RestoredAssignment(assignment.Request.ForFamily(byFamily.Key), assignment.Ip))]);
            restored.AddRange(report.Restored);
            conflicts.AddRange(report.Conflicts);
        }

        foreach (var allocation in restored)
        {
            var family = IpFamilies.Of(allocation.Ip);
            var held = _held.TryGetValue(allocation.Service, out var known) ? known : _held[allocation.Service] = [];
            if (!held.Contains(family))
            {
                held.Add(family);
            }
        }

        // The request's order wins (spec.ipFamilies); without one, the order the assignments were listed in.
        foreach (var assignment in list)
        {
            if (assignment.Request.Families.Count > 0 && _held.TryGetValue(assignment.Request.Service, out var held))
            {
                var order = assignment.Request.Families;
                held.Sort((a, b) => Rank(order, a).CompareTo(Rank(order, b)));
            }
        }

        return new RestoreReport(restored, conflicts);
    }

    /// <summary>Replaces the pools of both families at once, keeping every lease; refused, with every reason and nothing changed, when a lease would not fit.</summary>
    public PoolReconfiguration Reconfigure(IReadOnlyList<AddressPool> pools)
    {
        _ = new PoolAllocator(pools);
        var next = SplitPools(pools);
        var problems = new List<string>();
        var applied = new List<IpFamily>();
        var result = new Dictionary<IpFamily, PoolAllocator>();
        foreach (var family in IpFamilies.All)
        {
            var current = _byFamily.GetValueOrDefault(family);
            var wanted = next.GetValueOrDefault(family);
            if (wanted is null)
            {
                // A family no pool has any more is refused only while an IP of it is in use.
                problems.AddRange((current?.Leases() ?? []).Select(lease =>
                    $"IP {lease.Ip} is in use by {string.Join(", ", lease.Owners)} and would be in no pool"));
                continue;
            }

            if (current is null)
            {
                result[family] = new PoolAllocator(wanted);
                continue;
            }

            var done = current.Reconfigure(wanted);
            if (!done.Applied)
            {
                problems.AddRange(done.Problems);
                continue;
            }

            applied.Add(family);
            result[family] = current;
        }

        if (problems.Count > 0)
        {
            // Put back the family that already took its new pools: its leases fitted the old ones a moment ago.
            foreach (var family in applied)
            {
                _byFamily[family].Reconfigure(SplitPools(_pools)[family]);
            }

            return PoolReconfiguration.Refused(problems);
        }

        (_pools, _byFamily) = (pools, result);
        return PoolReconfiguration.Done;
    }

    /// <summary>Every IP in use in every pool, IPv4 first, lowest first.</summary>
    public IReadOnlyList<IpLease> Leases() =>
        _byFamily.Count == 1
            ? _byFamily.Values.Single().Leases()
            : [.. IpFamilies.All.Where(_byFamily.ContainsKey).SelectMany(family => _byFamily[family].Leases())];

    /// <summary>The Service's assignments, primary first; empty when it holds none.</summary>
    public IReadOnlyList<IpAllocation> FindAssignments(ServiceKey service) =>
        _held.TryGetValue(service, out var families)
            ? [.. families.Select(family => _byFamily[family].FindAssignment(service)!)]
            : [];

    /// <summary>The pool that holds the Service's primary IP, if it has one.</summary>
    public string? FindPool(ServiceKey service) =>
        _held.TryGetValue(service, out var families) ? _byFamily[families[0]].FindPool(service) : null;

    private StackAllocationResult AllocateSingle(LoadBalancerRequest request)
    {
        var service = request.Service;
        var held = _held.GetValueOrDefault(service);

        // Unstated families: the one it holds, else IPv4 then IPv6, so an IPv6-only pool set still serves such Services
        // and a Service never hops family while its own still serves it.
        IReadOnlyList<IpFamily> candidates = request.Families.Count > 0 ? [request.Families[0]]
            : held is { Count: > 0 } ? [held[0], IpFamilies.Other(held[0])]
            : IpFamilies.All;
        AllocationRefusal? refusal = null;
        foreach (var family in candidates)
        {
            if (request.Families.Count == 0 && !_byFamily.ContainsKey(family) && candidates.Any(_byFamily.ContainsKey))
            {
                continue;
            }

            var result = AllocateFamily(request, family);
            if (result.Succeeded)
            {
                var vacated = Vacated(result.Allocation!);
                var left = ReleaseOthers(service, [family], vacated);
                _held[service] = [family];
                return StackAllocationResult.Allocated(new StackAllocation(service, [result.Allocation!], vacated, []) { LeftIps = left });
            }

            refusal ??= result.Refusal;
        }

        return StackAllocationResult.Refused(refusal!);
    }

    private StackAllocationResult AllocateDual(LoadBalancerRequest request)
    {
        var service = request.Service;
        var primary = request.Families.Count > 0 ? request.Families[0]
            : request.RequestedIps.Count > 0 ? IpFamilies.Of(request.RequestedIps[0])
            : IpFamily.IPv4;
        var secondary = IpFamilies.Other(primary);
        var before = _byFamily.ToDictionary(pair => pair.Key, pair => pair.Value.FindRestorable(service));

        var first = AllocateFamily(request, primary);
        if (!first.Succeeded)
        {
            return StackAllocationResult.Refused(first.Refusal!);
        }

        var vacated = Vacated(first.Allocation!);
        var second = AllocateFamily(request, secondary);
        if (second.Succeeded)
        {
            vacated.AddRange(Vacated(second.Allocation!));
            _held[service] = [primary, secondary];
            return StackAllocationResult.Allocated(new StackAllocation(service, [first.Allocation!, second.Allocation!], vacated, []));
        }

        var why = second.Refusal!;
        if (request.FamilyPolicy == IpFamilyPolicy.RequireDualStack)
        {
            if (first.Allocation!.Changed)
            {
                PutBack(service, primary, before[primary]);
            }

            var reason = $"ipFamilyPolicy RequireDualStack needs an {IpFamilies.Name(secondary)} address too: {why.Reason}";
            var message = $"ipFamilyPolicy RequireDualStack needs an {IpFamilies.Name(secondary)} address too: {why.Message}";
            return StackAllocationResult.Refused(why with { Reason = reason, Message = message });
        }

        // PreferDualStack: the family it can have. A second family it held for other ports no longer serves it.
        var dropped = ReleaseOthers(service, [primary], vacated);
        _held[service] = [primary];
        return StackAllocationResult.Allocated(new StackAllocation(service, [first.Allocation!], vacated,
            [new FamilyShortfall(secondary, why.Reason)]) { LeftIps = dropped });
    }

    private AllocationResult AllocateFamily(LoadBalancerRequest request, IpFamily family)
    {
        if (!_byFamily.TryGetValue(family, out var allocator))
        {
            var reason = NoFamilyText(family, request.Service);
            return AllocationResult.Refused(new AllocationRefusal(request.Service, RefusalKind.FamilyUnavailable, reason, reason));
        }

        if (request.Pool is { } asked && !allocator.Definitions.Any(pool => pool.Name == asked))
        {
            var pool = _pools.First(pool => pool.Name == asked);
            var reason = $"pool '{asked}' has no {IpFamilies.Name(family)} addresses ({pool.Addresses})";
            return AllocationResult.Refused(new AllocationRefusal(request.Service, RefusalKind.FamilyUnavailable, reason, reason));
        }

        return allocator.Allocate(request.ForFamily(family));
    }

    /// <summary>Undoes this call's allocation of <paramref name="family"/>: what the Service held before, exactly, or nothing.</summary>
    private void PutBack(ServiceKey service, IpFamily family, RestoredAssignment? before)
    {
        var allocator = _byFamily[family];
        allocator.Release(service);
        if (before is not null)
        {
            // Its ports were free on that IP a moment ago and nothing else ran since: this cannot clash.
            var report = allocator.Restore([before]);
            if (report.Conflicts.Count > 0)
            {
                throw new InvalidOperationException($"service {service} could not get {before.Ip} back: {report.Conflicts[0].Reason}");
            }
        }
    }

    /// <summary>
    /// Releases the families the Service holds besides <paramref name="keep"/>; returns the IPs it left, and adds those
    /// nobody uses now to <paramref name="vacated"/>.
    /// </summary>
    private List<IPAddress> ReleaseOthers(ServiceKey service, IpFamily[] keep, List<IPAddress> vacated)
    {
        var left = new List<IPAddress>();
        if (!_held.TryGetValue(service, out var held))
        {
            return left;
        }

        foreach (var family in held.Where(family => !keep.Contains(family)))
        {
            var release = _byFamily[family].Release(service);
            if (release.Ip is { } ip)
            {
                left.Add(ip);
                if (release.IpUnused)
                {
                    vacated.Add(ip);
                }
            }
        }

        return left;
    }

    private static List<IPAddress> Vacated(IpAllocation allocation) => allocation.VacatedIp is { } ip ? [ip] : [];

    private string NoFamilyText(IpFamily family, ServiceKey? service = null) =>
        $"no pool has {IpFamilies.Name(family)} addresses{(service is { } key ? $" to give {key}" : string.Empty)}; pools: {string.Join(", ", _pools)}";

    private static int Rank(IReadOnlyList<IpFamily> order, IpFamily family)
    {
        var index = order.ToList().IndexOf(family);
        return index < 0 ? int.MaxValue : index;
    }

    private static Dictionary<IpFamily, List<AddressPool>> SplitPools(IReadOnlyList<AddressPool> pools) =>
        IpFamilies.All
            .Select(family => (family, pools: pools.Select(pool => pool.OfFamily(family)).OfType<AddressPool>().ToList()))
            .Where(entry => entry.pools.Count > 0)
            .ToDictionary(entry => entry.family, entry => entry.pools);

    private static Dictionary<IpFamily, PoolAllocator> Split(IReadOnlyList<AddressPool> pools) =>
        SplitPools(pools).ToDictionary(pair => pair.Key, pair => new PoolAllocator(pair.Value));
}

/// <summary>A family a PreferDualStack Service did not get, and why.</summary>
public sealed record FamilyShortfall(IpFamily Family, string Reason);

/// <summary>Every IP a Service got, primary first, each with all of its ports.</summary>
/// <param name="VacatedIps">IPs it left that nobody uses any more (moved within a family, or a family it dropped).</param>
/// <param name="Shortfalls">Families a PreferDualStack Service asked for and did not get.</param>
public sealed record StackAllocation(
    ServiceKey Service,
    IReadOnlyList<IpAllocation> Allocations,
    IReadOnlyList<IPAddress> VacatedIps,
    IReadOnlyList<FamilyShortfall> Shortfalls)
{
    public IpAllocation Primary => Allocations[0];

    /// <summary>The primary IP.</summary>
    public IPAddress Ip => Primary.Ip;

    /// <summary>Why the primary IP.</summary>
    public AllocationReason Reason => Primary.Reason;

    public IReadOnlyList<IPAddress> Ips => [.. Allocations.Select(allocation => allocation.Ip)];

    public IReadOnlyList<PortBinding> Bindings => [.. Allocations.SelectMany(allocation => allocation.Bindings)];

    /// <summary>IPs of families it no longer holds (whether or not others still use them).</summary>
    public IReadOnlyList<IPAddress> LeftIps { get; init; } = [];

    /// <summary>False when the Service already held exactly this.</summary>
    public bool Changed => LeftIps.Count > 0 || Allocations.Any(allocation => allocation.Changed);
}

public sealed record StackAllocationResult
{
    private StackAllocationResult(StackAllocation? allocation, AllocationRefusal? refusal)
    {
        Allocation = allocation;
        Refusal = refusal;
    }

    public StackAllocation? Allocation { get; }

    public AllocationRefusal? Refusal { get; }

    public bool Succeeded => Allocation is not null;

    public static StackAllocationResult Allocated(StackAllocation allocation) => new(allocation, null);

    public static StackAllocationResult Refused(AllocationRefusal refusal) => new(null, refusal);

    /// <summary>One family's result as a Service's: its one IP, or its refusal.</summary>
    public static StackAllocationResult OneFamily(AllocationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Allocation is { } allocation
            ? Allocated(new StackAllocation(allocation.Service, [allocation], allocation.VacatedIp is { } ip ? [ip] : [], []))
            : Refused(result.Refusal!);
    }
}
