using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// Allocates from several named pools, one <see cref="IpAllocator"/> each, so that every guarantee of the allocator
/// (determinism, all ports on one IP, O(log n) per request, the older Service winning a clash on restore) holds within
/// each pool. A Service asking for a pool by name, or for an address (the pool holding it), gets that pool if it admits
/// the Service; otherwise the first pool in order with <see cref="AddressPool.AutoAssign"/> that admits it and has room.
/// A Service keeps its pool while the pool still fits its request: <see cref="AddressPool.AutoAssign"/> only steers a
/// Service that holds nothing, so turning it off moves nobody. Pools never share an address that can be handed out, so
/// an IP belongs to one allocator. Not thread-safe: callers serialise.
/// </summary>
public sealed class PoolAllocator
{
    private PoolSet _set;
    private Dictionary<ServiceKey, Slot> _owners = [];

    /// <param name="pools">In the order a Service without a request tries them: <c>default</c> first, then file order.</param>
    public PoolAllocator(IReadOnlyList<AddressPool> pools)
    {
        _set = PoolSet.Create(pools);
    }

    public IReadOnlyList<AddressPool> Definitions => _set.Definitions;

    public int ServiceCount => _owners.Count;

    public int IpCount => _set.Slots.Sum(slot => slot.Allocator.IpCount);

    /// <summary>Every pool in order with its use.</summary>
    public IReadOnlyList<PoolUsage> Pools =>
        [.. _set.Slots.Select(slot => new PoolUsage(slot.Pool.Name, slot.Pool.Addresses, slot.Pool.Addresses.Size, slot.Allocator.IpCount))];

    public AllocationResult Allocate(LoadBalancerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Pool is { } asked && !_set.ByName.ContainsKey(asked))
        {
            var reason = $"pool '{asked}' does not exist; the pools are {_set.NameList}";
            return Refuse(request, RefusalKind.UnknownPool, reason, reason);
        }

        if (!_owners.TryGetValue(request.Service, out var current))
        {
            var (placed, slot) = Place(request, skip: null);
            if (slot is not null && placed.Succeeded)
            {
                _owners[request.Service] = slot;
            }

            return placed;
        }

        if (Fits(current, request))
        {
            var kept = current.Allocator.Allocate(request);
            if (kept.Succeeded || request.Pool is not null || request.RequestedIp is not null
                || kept.Refusal!.Kind != RefusalKind.PoolExhausted)
            {
                return kept;
            }

            // Its pool has no IP for its changed ports, and it asked for no pool in particular: another may have one.
            return Move(request, current, alsoFull: current);
        }

        return Move(request, current, alsoFull: null);
    }

    public IpRelease Release(ServiceKey service) =>
        _owners.Remove(service, out var slot) ? slot.Allocator.Release(service) : new IpRelease(service, null, [], false);

    /// <summary>
    /// Seeds the pools with assignments that already exist, oldest Service first across all pools, each into the pool
    /// that holds its IP. An IP in no pool, or in a pool that does not admit the Service, is a conflict.
    /// </summary>
    public RestoreReport Restore(IEnumerable<RestoredAssignment> assignments)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        var restored = new List<IpAllocation>();
        var conflicts = new List<RestoreConflict>();
        foreach (var assignment in Oldest(assignments))
        {
            var (request, ip) = assignment;
            var slot = _set.Containing(ip);
            if (slot is null)
            {
                conflicts.Add(new RestoreConflict(request.Service, ip, _set.ExplainNowhere(ip).Reason, null));
                continue;
            }

            if (_owners.TryGetValue(request.Service, out var owner) && owner != slot)
            {
                var held = owner.Allocator.FindAssignment(request.Service)!.Ip;
                conflicts.Add(new RestoreConflict(request.Service, ip, $"service {request.Service} is already assigned {held}", null));
                continue;
            }

            if (slot.Pool.WhyNotAdmitted(request.Service, request.Labels) is { } why)
            {
                conflicts.Add(new RestoreConflict(request.Service, ip, $"IP {ip} is in pool '{slot.Pool.Name}', which {why}", null));
                continue;
            }

            var report = slot.Allocator.Restore([assignment]);
            restored.AddRange(report.Restored);
            conflicts.AddRange(report.Conflicts);
            if (report.Restored.Count > 0)
            {
                _owners[request.Service] = slot;
            }
        }

        return new RestoreReport(restored, conflicts);
    }

    /// <summary>
    /// Replaces the pools, keeping every Service on its IP. Refused, with every reason and nothing changed, when an IP
    /// in use would be in no pool, or in a pool that does not admit a Service on it.
    /// </summary>
    /// <param name="pools">A valid set (unique names, no shared address): the caller validates the configuration.</param>
    public PoolReconfiguration Reconfigure(IReadOnlyList<AddressPool> pools)
    {
        var next = PoolSet.Create(pools);
        var assignments = Oldest(_set.Slots.SelectMany(slot => slot.Allocator.Assignments())).ToList();
        var problems = new List<string>();
        foreach (var byIp in assignments.GroupBy(assignment => assignment.Ip).OrderBy(group => IpNumber.From(group.Key)))
        {
            var ip = byIp.Key;
            var slot = next.Containing(ip);
            if (slot is null)
            {
                problems.Add($"IP {ip} is in use by {string.Join(", ", byIp.Select(a => a.Request.Service).Order())} and would be in no pool");
                continue;
            }

            foreach (var (request, _) in byIp)
            {
                if (slot.Pool.WhyNotAdmitted(request.Service, request.Labels) is { } why)
                {
                    problems.Add($"IP {ip} is in use by {request.Service} and would be in pool '{slot.Pool.Name}', which {why}");
                }
            }
        }

        if (problems.Count > 0)
        {
            return PoolReconfiguration.Refused(problems);
        }

        var owners = new Dictionary<ServiceKey, Slot>(_owners.Count);
        foreach (var assignment in assignments)
        {
            var slot = next.Containing(assignment.Ip)!;
            var report = slot.Allocator.Restore([assignment]);
            if (report.Conflicts.Count > 0)
            {
                // The old set held these together, so the new one can: a conflict here is a bug, and nothing is swapped.
                return PoolReconfiguration.Refused([.. report.Conflicts.Select(conflict => conflict.Reason)]);
            }

            owners[assignment.Request.Service] = slot;
        }

        (_set, _owners) = (next, owners);
        return PoolReconfiguration.Done;
    }

    public IpLease? FindLease(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        return _set.Containing(ip)?.Allocator.FindLease(ip);
    }

    public IpAllocation? FindAssignment(ServiceKey service) =>
        _owners.TryGetValue(service, out var slot) ? slot.Allocator.FindAssignment(service) : null;

    /// <summary>The Service's assignment as a restore takes it (the request it was satisfied with), to put it back exactly.</summary>
    internal RestoredAssignment? FindRestorable(ServiceKey service) =>
        _owners.TryGetValue(service, out var slot) ? slot.Allocator.FindRestorable(service) : null;

    /// <summary>The pool that holds <paramref name="service"/>'s IP, if it has one.</summary>
    public string? FindPool(ServiceKey service) => _owners.TryGetValue(service, out var slot) ? slot.Pool.Name : null;

    /// <summary>Every IP in use in every pool, lowest first.</summary>
    public IReadOnlyList<IpLease> Leases() => _set.Slots.Length == 1
        ? _set.Slots[0].Allocator.Leases()
        : [.. _set.Slots.SelectMany(slot => slot.Allocator.Leases()).OrderBy(lease => IpNumber.From(lease.Ip))];

    private static IEnumerable<RestoredAssignment> Oldest(IEnumerable<RestoredAssignment> assignments) =>
        assignments.OrderBy(assignment => assignment.Request.CreatedAt).ThenBy(assignment => assignment.Request.Service);

    /// <summary>Whether the pool holding a Service still serves its request as it stands now.</summary>
    private static bool Fits(Slot slot, LoadBalancerRequest request) =>
        (request.Pool is null || request.Pool == slot.Pool.Name)
        && (request.RequestedIp is null || slot.Pool.Addresses.Contains(request.RequestedIp))
        && slot.Pool.Admits(request.Service, request.Labels);

    /// <summary>Places the Service in another pool while it still holds its IP (pools share no address), then lets go.</summary>
    private AllocationResult Move(LoadBalancerRequest request, Slot current, Slot? alsoFull)
    {
        var (placed, slot) = Place(request, skip: current, alsoFull);
        if (!placed.Succeeded)
        {
            return placed;
        }

        var released = current.Allocator.Release(request.Service);
        _owners[request.Service] = slot!;
        return AllocationResult.Allocated(placed.Allocation! with { VacatedIp = released.IpUnused ? released.Ip : null });
    }

    private (AllocationResult Result, Slot? Slot) Place(LoadBalancerRequest request, Slot? skip, Slot? alsoFull = null)
    {
        if (request.RequestedIp is { } ip)
        {
            var first = new PortBinding(ip, request.Ports[0]);
            var slot = _set.Containing(ip);
            string? reason = null;
            var kind = RefusalKind.NotAdmitted;
            if (slot is null)
            {
                (kind, reason) = _set.ExplainNowhere(ip);
            }
            else if (request.Pool is { } asked && asked != slot.Pool.Name)
            {
                (kind, reason) = (RefusalKind.OutsidePool, $"IP {ip} is in pool '{slot.Pool.Name}', not in pool '{asked}' that the Service asks for");
            }
            else if (slot.Pool.WhyNotAdmitted(request.Service, request.Labels) is { } why)
            {
                reason = $"IP {ip} is in pool '{slot.Pool.Name}', which {why}";
            }

            return reason is null
                ? (slot!.Allocator.Allocate(request), slot)
                : (Refuse(request, kind, reason, $"FAILED to allocate requested LoadBalancerIP {first} - Reason: {reason}"), null);
        }

        if (request.Pool is { } name)
        {
            var slot = _set.ByName[name];
            if (slot.Pool.WhyNotAdmitted(request.Service, request.Labels) is { } why)
            {
                var reason = $"pool '{name}' {why}";
                return (Refuse(request, RefusalKind.NotAdmitted, reason, reason), null);
            }

            return (slot.Allocator.Allocate(request), slot);
        }

        var full = alsoFull is null ? new List<string>() : [alsoFull.Pool.Name];
        foreach (var slot in _set.Slots)
        {
            if (slot == skip || !slot.Pool.AutoAssign || !slot.Pool.Admits(request.Service, request.Labels))
            {
                continue;
            }

            var result = slot.Allocator.Allocate(request);
            if (result.Succeeded)
            {
                return (result, slot);
            }

            full.Add(slot.Pool.Name);
        }

        if (full.Count == 0)
        {
            var reasons = _set.Slots.Where(slot => slot != skip).Select(slot => slot.Pool.AutoAssign
                ? $"pool '{slot.Pool.Name}' {slot.Pool.WhyNotAdmitted(request.Service, request.Labels)}"
                : $"pool '{slot.Pool.Name}' serves only Services that ask for it (autoAssign: false)");
            var reason = $"no pool assigns an IP to {request.Service} unasked: {string.Join("; ", reasons)}";
            return (Refuse(request, RefusalKind.NotAdmitted, reason, reason), null);
        }

        // The words of the pool's own refusal, naming every pool that was full.
        var ports = request.Ports.Count == 1 ? $"port {request.Ports[0]}" : $"ports {string.Join(", ", request.Ports)}";
        var text = full.Count == 1
            ? $"no available IPs for {ports} in pool '{full[0]}'"
            : $"no available IPs for {ports} in pools {string.Join(", ", full.Select(name => $"'{name}'"))}";
        return (Refuse(request, RefusalKind.PoolExhausted, text, text), null);
    }

    private static AllocationResult Refuse(LoadBalancerRequest request, RefusalKind kind, string reason, string message) =>
        AllocationResult.Refused(new AllocationRefusal(request.Service, kind, reason, message));

    private sealed class Slot(AddressPool pool)
    {
        public AddressPool Pool { get; } = pool;

        public IpAllocator Allocator { get; } = new(pool.Addresses, pool.Name);
    }

    /// <summary>The pools of one configuration; replaced whole by a reconfiguration.</summary>
    private sealed class PoolSet
    {
        private PoolSet(Slot[] slots)
        {
            Slots = slots;
            Definitions = [.. slots.Select(slot => slot.Pool)];
            ByName = slots.ToDictionary(slot => slot.Pool.Name, StringComparer.Ordinal);
            NameList = string.Join(", ", slots.Select(slot => $"'{slot.Pool.Name}'"));
        }

        public Slot[] Slots { get; }

        public IReadOnlyList<AddressPool> Definitions { get; }

        public Dictionary<string, Slot> ByName { get; }

        public string NameList { get; }

        public static PoolSet Create(IReadOnlyList<AddressPool> pools)
        {
            ArgumentNullException.ThrowIfNull(pools);
            if (pools.Count == 0)
            {
                throw new ArgumentException("at least one pool is required", nameof(pools));
            }

            if (pools.GroupBy(pool => pool.Name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1) is { } twice)
            {
                throw new ArgumentException($"pool name '{twice.Key}' is used twice", nameof(pools));
            }

            for (var i = 0; i < pools.Count; i++)
            {
                for (var j = i + 1; j < pools.Count; j++)
                {
                    if (pools[i].Addresses.FirstCommonAddress(pools[j].Addresses) is { } shared)
                    {
                        throw new ArgumentException($"pools '{pools[i].Name}' and '{pools[j].Name}' both hold {shared}", nameof(pools));
                    }
                }
            }

            return new PoolSet([.. pools.Select(pool => new Slot(pool))]);
        }

        /// <summary>A few pools, each found by binary search: the pool count is configuration, not load.</summary>
        public Slot? Containing(IPAddress ip)
        {
            if (Slots.Length == 1)
            {
                return Slots[0].Pool.Addresses.Contains(ip) ? Slots[0] : null;
            }

            foreach (var slot in Slots)
            {
                if (slot.Pool.Addresses.Contains(ip))
                {
                    return slot;
                }
            }

            return null;
        }

        /// <summary>Why an address no pool hands out cannot be had, naming the pool that declares it when one does.</summary>
        public (RefusalKind Kind, string Reason) ExplainNowhere(IPAddress ip)
        {
            foreach (var slot in Slots)
            {
                var membership = slot.Pool.Addresses.Classify(ip);
                if (membership is PoolMembership.Excluded or PoolMembership.NetworkOrBroadcast)
                {
                    var kind = membership == PoolMembership.Excluded ? RefusalKind.Excluded : RefusalKind.NetworkOrBroadcast;
                    return (kind, IpAllocator.ExplainNotAllocatable(slot.Pool.Addresses, slot.Pool.Name, ip, membership));
                }
            }

            return Slots.Length == 1
                ? (RefusalKind.OutsidePool, IpAllocator.ExplainNotAllocatable(Slots[0].Pool.Addresses, Slots[0].Pool.Name, ip, PoolMembership.OutsidePool))
                : (RefusalKind.OutsidePool, $"IP {ip} is in no pool: {string.Join(", ", Slots.Select(slot => slot.Pool.ToString()))}");
        }
    }
}
