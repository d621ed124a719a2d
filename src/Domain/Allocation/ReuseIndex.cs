using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// Finds the lowest IP in use, among those of one sharing group, on which a set of ports is free — without visiting
/// every IP in use. A port held on few IPs is checked by walking the IPs in order (each miss is one of those few
/// holders); once a port is held on <see cref="IndexThreshold"/> IPs or more, an ordered set of the IPs where it is
/// still free is kept instead, so the walk starts at the first candidate.
/// </summary>
internal sealed class ReuseIndex
{
    internal const int IndexThreshold = 32;

    private readonly SortedSet<IpNumber> _inUse = [];
    private readonly Dictionary<IpNumber, LeasedIp> _leases = [];
    private readonly Dictionary<ServicePort, int> _holderCounts = [];
    private readonly Dictionary<ServicePort, SortedSet<IpNumber>> _freeOn = [];

    public bool IsEmpty => _inUse.Count == 0;

    public void AddIp(LeasedIp lease)
    {
        _inUse.Add(lease.Address);
        _leases.Add(lease.Address, lease);
        foreach (var (port, free) in _freeOn)
        {
            if (lease.IsFree(port))
            {
                free.Add(lease.Address);
            }
        }
    }

    public void RemoveIp(LeasedIp lease)
    {
        _inUse.Remove(lease.Address);
        _leases.Remove(lease.Address);
        foreach (var free in _freeOn.Values)
        {
            free.Remove(lease.Address);
        }
    }

    /// <summary>Call after the port was added to the lease's bindings.</summary>
    public void PortTaken(LeasedIp lease, ServicePort port)
    {
        var holders = _holderCounts.GetValueOrDefault(port) + 1;
        _holderCounts[port] = holders;
        if (_freeOn.TryGetValue(port, out var free))
        {
            free.Remove(lease.Address);
        }
        else if (holders >= IndexThreshold)
        {
            free = [];
            foreach (var address in _inUse)
            {
                if (_leases[address].IsFree(port))
                {
                    free.Add(address);
                }
            }

            _freeOn.Add(port, free);
        }
    }

    /// <summary>Call after the port was removed from the lease's bindings, before the IP itself is removed.</summary>
    public void PortFreed(LeasedIp lease, ServicePort port)
    {
        var holders = _holderCounts[port] - 1;
        if (holders == 0)
        {
            _holderCounts.Remove(port);
            _freeOn.Remove(port);
            return;
        }

        _holderCounts[port] = holders;
        if (_freeOn.TryGetValue(port, out var free))
        {
            free.Add(lease.Address);
        }
    }

    public LeasedIp? FindLowestWithFreePorts(IReadOnlyList<ServicePort> ports)
    {
        SortedSet<IpNumber> candidates = _inUse;
        foreach (var port in ports)
        {
            if (_freeOn.TryGetValue(port, out var free) && free.Count < candidates.Count)
            {
                candidates = free;
            }
        }

        foreach (var address in candidates)
        {
            var lease = _leases[address];
            if (lease.AreFree(ports))
            {
                return lease;
            }
        }

        return null;
    }
}
