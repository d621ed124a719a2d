using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// Gives each Service one IP holding all of its ports, in this order: the explicit loadBalancerIP; else the lowest IP
/// already in use on which all its ports are free and whose users it may share with; else the lowest free IP; else a
/// refusal. Deterministic: the same calls in the same order give the same answers. Not thread-safe: callers serialise.
/// </summary>
public sealed class IpAllocator
{
    private readonly FreeAddressTracker _free;
    private readonly Dictionary<IpNumber, LeasedIp> _leases = [];
    private readonly Dictionary<IpSharing, ReuseIndex> _reuse = [];
    private readonly Dictionary<ServiceKey, Assignment> _assignments = [];

    private readonly int _maxIndexedPortSets;

    /// <param name="poolName">How messages name the pool: "no available IPs for port 80 in pool 'lan'".</param>
    public IpAllocator(IpPool pool, string poolName = AddressPool.DefaultName)
        : this(pool, ReuseIndex.MaxIndexedPortSets, poolName)
    {
    }

    /// <summary>Lets tests shrink the reuse index's cache so that evictions happen in small scenarios.</summary>
    internal IpAllocator(IpPool pool, int maxIndexedPortSets, string poolName = AddressPool.DefaultName)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentException.ThrowIfNullOrWhiteSpace(poolName);
        Pool = pool;
        PoolName = poolName;
        _free = new FreeAddressTracker(pool);
        _maxIndexedPortSets = maxIndexedPortSets;
    }

    public IpPool Pool { get; }

    public string PoolName { get; }

    public int ServiceCount => _assignments.Count;

    public int IpCount => _leases.Count;

    /// <summary>How many port sets the reuse indexes keep a free-set for (a diagnostic for tests).</summary>
    internal int IndexedPortSetCount => _reuse.Values.Sum(index => index.IndexedPortSetCount);

    /// <summary>How many indexed port sets were dropped to make room, while their sharing group lived.</summary>
    internal long IndexEvictions => _reuse.Values.Sum(index => index.Evictions);

    public AllocationResult Allocate(LoadBalancerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_assignments.TryGetValue(request.Service, out var current))
        {
            return Place(request, preferredIp: null);
        }

        var currentIp = current.Lease.Address;
        if (current.Request.AsksSameAs(request))
        {
            _assignments[request.Service] = current with { Request = request };
            return AllocationResult.Allocated(Describe(request, current.Lease, AllocationReason.Kept, changed: false));
        }

        // A changed request is placed as if the service held nothing, preferring the IP it has; when that fails the old
        // assignment is put back exactly, so a refusal leaves everything as it was.
        Unbind(current);
        var placed = Place(request, preferredIp: currentIp);
        if (!placed.Succeeded)
        {
            Bind(current.Request, _leases.GetValueOrDefault(currentIp) ?? TakeAddress(currentIp, current.Request.Sharing), current.Reason);
            return placed;
        }

        var allocation = placed.Allocation!;
        var vacated = !_leases.ContainsKey(currentIp) ? currentIp.ToAddress() : null;
        return AllocationResult.Allocated(allocation with { VacatedIp = vacated });
    }

    public IpRelease Release(ServiceKey service)
    {
        if (!_assignments.TryGetValue(service, out var current))
        {
            return new IpRelease(service, null, [], false);
        }

        Unbind(current);
        return new IpRelease(service, current.Lease.Ip, Bindings(current.Lease.Ip, current.Request.PortArray),
            !_leases.ContainsKey(current.Lease.Address));
    }

    /// <summary>
    /// Seeds the allocator with assignments that already exist, before anything new is allocated. The oldest service
    /// (creation time, then namespace/name) is restored first, so on a clash the older service keeps the IP.
    /// </summary>
    public RestoreReport Restore(IEnumerable<RestoredAssignment> assignments)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        var restored = new List<IpAllocation>();
        var conflicts = new List<RestoreConflict>();
        var ordered = assignments
            .OrderBy(assignment => assignment.Request.CreatedAt)
            .ThenBy(assignment => assignment.Request.Service)
            .ToList();
        foreach (var (request, ip) in ordered)
        {
            var address = IpNumber.From(ip);
            if (_assignments.TryGetValue(request.Service, out var existing))
            {
                if (existing.Lease.Address == address)
                {
                    continue;
                }

                conflicts.Add(new RestoreConflict(request.Service, address.ToAddress(),
                    $"service {request.Service} is already assigned {existing.Lease.Address}", null));
                continue;
            }

            var refusal = CheckExplicit(request, address, out var holder);
            if (refusal is not null)
            {
                conflicts.Add(new RestoreConflict(request.Service, address.ToAddress(), refusal.Value.Reason, holder));
                continue;
            }

            // The assignment records what it satisfies: a Service whose loadBalancerIP no longer matches its status
            // keeps the status IP for now, and its next allocation sees a changed request and moves it.
            var satisfied = request.RequestedIp is null || Equals(request.RequestedIp, address.ToAddress())
                ? request
                : new LoadBalancerRequest(request.Service, request.Ports, address.ToAddress(), request.Sharing, request.CreatedAt,
                    request.Pool, request.Labels);
            var lease = _leases.GetValueOrDefault(address) ?? TakeAddress(address, request.Sharing);
            restored.Add(Bind(satisfied, lease, AllocationReason.Kept));
        }

        return new RestoreReport(restored, conflicts);
    }

    public IpLease? FindLease(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        return _leases.TryGetValue(IpNumber.From(ip), out var lease) ? ToLease(lease) : null;
    }

    public IpAllocation? FindAssignment(ServiceKey service) =>
        _assignments.TryGetValue(service, out var assignment)
            ? Describe(assignment.Request, assignment.Lease, assignment.Reason, changed: false)
            : null;

    internal RestoredAssignment? FindRestorable(ServiceKey service) =>
        _assignments.TryGetValue(service, out var assignment) ? new RestoredAssignment(assignment.Request, assignment.Lease.Ip) : null;

    /// <summary>Every Service's assignment as a restore would take it: what it asked for, satisfied, and its IP.</summary>
    internal IEnumerable<RestoredAssignment> Assignments() =>
        _assignments.Values.Select(assignment => new RestoredAssignment(assignment.Request, assignment.Lease.Ip));

    /// <summary>The operators' wording for an address the pool does not hand out, naming the pool.</summary>
    internal static string ExplainNotAllocatable(IpPool pool, string poolName, IPAddress ip, PoolMembership membership) => membership switch
    {
        PoolMembership.OutsidePool => $"IP {ip} is not in CIDR range {pool} of pool '{poolName}'",
        PoolMembership.Excluded => $"IP {ip} is excluded from pool '{poolName}'",
        PoolMembership.NetworkOrBroadcast => $"IP {ip} is a network or broadcast address of pool '{poolName}'",
        _ => throw new ArgumentOutOfRangeException(nameof(membership), membership, "the address is allocatable"),
    };

    /// <summary>Every IP in use, lowest first.</summary>
    public IReadOnlyList<IpLease> Leases() =>
        [.. _leases.Values.OrderBy(lease => lease.Address).Select(ToLease)];

    private AllocationResult Place(LoadBalancerRequest request, IpNumber? preferredIp)
    {
        if (request.RequestedIp is not null)
        {
            var requested = IpNumber.From(request.RequestedIp);
            var refusal = CheckExplicit(request, requested, out _);
            if (refusal is { } found)
            {
                var first = new PortBinding(requested.ToAddress(), request.Ports[0]);
                return Refuse(request, found.Kind, found.Reason,
                    $"FAILED to allocate requested LoadBalancerIP {first} - Reason: {found.Reason}");
            }

            var reason = preferredIp == requested ? AllocationReason.Kept : AllocationReason.Requested;
            var lease = _leases.GetValueOrDefault(requested) ?? TakeAddress(requested, request.Sharing);
            return AllocationResult.Allocated(Bind(request, lease, reason));
        }

        if (preferredIp is { } preferred && CheckExplicit(request, preferred, out _) is null)
        {
            var lease = _leases.GetValueOrDefault(preferred) ?? TakeAddress(preferred, request.Sharing);
            return AllocationResult.Allocated(Bind(request, lease, AllocationReason.Kept));
        }

        if (request.Sharing.Mode != IpSharingMode.Exclusive
            && _reuse.TryGetValue(request.Sharing, out var index)
            && index.FindLowestWithFreePorts(request.PortArray) is { } shared)
        {
            return AllocationResult.Allocated(Bind(request, shared, AllocationReason.Reused));
        }

        if (_free.TryTakeLowest(out var fresh))
        {
            return AllocationResult.Allocated(Bind(request, OpenLease(fresh, request.Sharing), AllocationReason.New));
        }

        var ports = request.Ports.Count == 1 ? $"port {request.Ports[0]}" : $"ports {string.Join(", ", request.Ports)}";
        var text = $"no available IPs for {ports} in pool '{PoolName}'";
        return Refuse(request, RefusalKind.PoolExhausted, text, text);
    }

    private readonly record struct ExplicitRefusal(RefusalKind Kind, string Reason);

    private ExplicitRefusal? CheckExplicit(LoadBalancerRequest request, IpNumber address, out ServiceKey? holder)
    {
        holder = null;
        var ip = address.ToAddress();
        var membership = Pool.Classify(ip);
        if (membership != PoolMembership.Allocatable)
        {
            var kind = membership switch
            {
                PoolMembership.OutsidePool => RefusalKind.OutsidePool,
                PoolMembership.Excluded => RefusalKind.Excluded,
                _ => RefusalKind.NetworkOrBroadcast,
            };
            return new ExplicitRefusal(kind, ExplainNotAllocatable(Pool, PoolName, ip, membership));
        }

        if (!_leases.TryGetValue(address, out var lease))
        {
            return null;
        }

        foreach (var port in request.PortArray)
        {
            if (lease.Bindings.TryGetValue(port, out var owner))
            {
                holder = owner;
                return new ExplicitRefusal(RefusalKind.PortInUse,
                    $"IP:port {new PortBinding(address.ToAddress(), port)} is already allocated");
            }
        }

        if (lease.Sharing != request.Sharing || request.Sharing.Mode == IpSharingMode.Exclusive)
        {
            holder = lease.Bindings.Values.Min();
            return new ExplicitRefusal(RefusalKind.NotShareable,
                $"IP {address} is held by {holder} ({lease.Sharing}) and cannot be shared with a {request.Sharing} service");
        }

        return null;
    }

    private static AllocationResult Refuse(LoadBalancerRequest request, RefusalKind kind, string reason, string message) =>
        AllocationResult.Refused(new AllocationRefusal(request.Service, kind, reason, message));

    private LeasedIp TakeAddress(IpNumber address, IpSharing sharing)
    {
        if (!_free.TryTake(address))
        {
            throw new InvalidOperationException($"address {address} is not free");
        }

        return OpenLease(address, sharing);
    }

    private LeasedIp OpenLease(IpNumber address, IpSharing sharing)
    {
        var lease = new LeasedIp(address, sharing);
        _leases.Add(address, lease);
        if (sharing.Mode != IpSharingMode.Exclusive)
        {
            if (!_reuse.TryGetValue(sharing, out var index))
            {
                index = new ReuseIndex(_maxIndexedPortSets);
                _reuse.Add(sharing, index);
            }

            index.AddIp(lease);
        }

        return lease;
    }

    private IpAllocation Bind(LoadBalancerRequest request, LeasedIp lease, AllocationReason reason)
    {
        var index = _reuse.GetValueOrDefault(lease.Sharing);
        foreach (var port in request.PortArray)
        {
            lease.Bindings.Add(port, request.Service);
            index?.PortTaken(lease, port);
        }

        _assignments[request.Service] = new Assignment(request, lease, reason);
        return Describe(request, lease, reason, changed: true);
    }

    private void Unbind(Assignment assignment)
    {
        var lease = assignment.Lease;
        var index = _reuse.GetValueOrDefault(lease.Sharing);
        foreach (var port in assignment.Request.PortArray)
        {
            lease.Bindings.Remove(port);
            index?.PortFreed(lease, port);
        }

        _assignments.Remove(assignment.Request.Service);
        if (lease.Bindings.Count > 0)
        {
            return;
        }

        _leases.Remove(lease.Address);
        if (index is not null)
        {
            index.RemoveIp(lease);
            if (index.IsEmpty)
            {
                _reuse.Remove(lease.Sharing);
            }
        }

        _free.Return(lease.Address);
    }

    private static IpAllocation Describe(LoadBalancerRequest request, LeasedIp lease, AllocationReason reason, bool changed) =>
        new(request.Service, lease.Ip, reason, Bindings(lease.Ip, request.PortArray), changed);

    private static PortBinding[] Bindings(IPAddress ip, ServicePort[] ports)
    {
        var bindings = new PortBinding[ports.Length];
        for (var i = 0; i < ports.Length; i++)
        {
            bindings[i] = new PortBinding(ip, ports[i]);
        }

        return bindings;
    }

    private static IpLease ToLease(LeasedIp lease) =>
        new(lease.Ip, lease.Sharing,
            [.. lease.Bindings.OrderBy(binding => binding.Key)
                .Select(binding => new LeasedPort(new PortBinding(lease.Ip, binding.Key), binding.Value))]);

    private sealed record Assignment(LoadBalancerRequest Request, LeasedIp Lease, AllocationReason Reason);
}
