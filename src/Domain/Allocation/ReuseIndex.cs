using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Allocation;

/// <summary>
/// Finds the lowest IP in use, among those of one sharing group, on which a set of ports is all free — without visiting
/// every IP in use. A request walks the IPs in order for at most <see cref="IndexThreshold"/> misses (starting from the
/// IPs where one of its ports is known to be free, when such a set exists). When that is not enough, the index builds
/// an ordered set of the IPs on which exactly that set of ports is free, keeps it up to date as ports are taken and
/// freed, and answers later requests for the same ports from its lowest element in O(log n). A long walk means the
/// IPs are packed, so such a set is small. At most <see cref="MaxIndexedPortSets"/> sets are kept, least recently used
/// out first.
/// </summary>
internal sealed class ReuseIndex
{
    internal const int IndexThreshold = 32;
    internal const int MaxIndexedPortSets = 256;

    private readonly SortedSet<IpNumber> _inUse = [];
    private readonly Dictionary<IpNumber, LeasedIp> _leases = [];
    private readonly Dictionary<PortSet, FreeSet> _indexed = [];
    private readonly Dictionary<ServicePort, List<FreeSet>> _indexedByPort = [];
    private readonly Dictionary<ServicePort, FreeSet> _indexedSinglePorts = [];
    private readonly int _maxIndexedPortSets;
    private long _lookups;

    public ReuseIndex(int maxIndexedPortSets = MaxIndexedPortSets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIndexedPortSets, 1);
        _maxIndexedPortSets = maxIndexedPortSets;
    }

    public bool IsEmpty => _inUse.Count == 0;

    internal int IndexedPortSetCount => _indexed.Count;

    internal long Evictions { get; private set; }

    public void AddIp(LeasedIp lease)
    {
        _inUse.Add(lease.Address);
        _leases.Add(lease.Address, lease);
        foreach (var set in _indexed.Values)
        {
            if (lease.AreFree(set.Ports))
            {
                set.Addresses.Add(lease.Address);
            }
        }
    }

    public void RemoveIp(LeasedIp lease)
    {
        _inUse.Remove(lease.Address);
        _leases.Remove(lease.Address);
        foreach (var set in _indexed.Values)
        {
            set.Addresses.Remove(lease.Address);
        }
    }

    /// <summary>Call after the port was added to the lease's bindings.</summary>
    public void PortTaken(LeasedIp lease, ServicePort port)
    {
        if (_indexedByPort.TryGetValue(port, out var sets))
        {
            foreach (var set in sets)
            {
                set.Addresses.Remove(lease.Address);
            }
        }
    }

    /// <summary>Call after the port was removed from the lease's bindings, before the IP itself is removed.</summary>
    public void PortFreed(LeasedIp lease, ServicePort port)
    {
        if (_indexedByPort.TryGetValue(port, out var sets))
        {
            foreach (var set in sets)
            {
                if (lease.AreFree(set.Ports))
                {
                    set.Addresses.Add(lease.Address);
                }
            }
        }
    }

    /// <param name="ports">Sorted and distinct, as <see cref="LoadBalancerRequest.Ports"/> are.</param>
    public LeasedIp? FindLowestWithFreePorts(ServicePort[] ports)
    {
        var key = new PortSet(ports);
        if (_indexed.TryGetValue(key, out var indexed))
        {
            indexed.LastUsed = ++_lookups;
            return indexed.Addresses.Count > 0 ? _leases[indexed.Addresses.Min] : null;
        }

        var candidates = SmallestSinglePortSet(ports) ?? _inUse;
        var misses = 0;
        foreach (var address in candidates)
        {
            var lease = _leases[address];
            if (lease.AreFree(ports))
            {
                return lease;
            }

            if (++misses == IndexThreshold)
            {
                var set = Index(key, candidates);
                return set.Addresses.Count > 0 ? _leases[set.Addresses.Min] : null;
            }
        }

        return null;
    }

    /// <summary>The smallest indexed set of IPs on which one of <paramref name="ports"/> is free: a superset of the answer.</summary>
    private SortedSet<IpNumber>? SmallestSinglePortSet(ServicePort[] ports)
    {
        if (ports.Length == 1)
        {
            return null;
        }

        SortedSet<IpNumber>? smallest = null;
        foreach (var port in ports)
        {
            if (_indexedSinglePorts.TryGetValue(port, out var single)
                && (smallest is null || single.Addresses.Count < smallest.Count))
            {
                smallest = single.Addresses;
            }
        }

        return smallest;
    }

    private FreeSet Index(PortSet key, SortedSet<IpNumber> candidates)
    {
        if (_indexed.Count >= _maxIndexedPortSets)
        {
            Evict(_indexed.Values.MinBy(set => set.LastUsed)!);
        }

        var set = new FreeSet(key.Ports) { LastUsed = ++_lookups };
        foreach (var address in candidates)
        {
            if (_leases[address].AreFree(key.Ports))
            {
                set.Addresses.Add(address);
            }
        }

        _indexed.Add(key, set);
        if (key.Ports.Length == 1)
        {
            _indexedSinglePorts.Add(key.Ports[0], set);
        }

        foreach (var port in key.Ports)
        {
            if (!_indexedByPort.TryGetValue(port, out var sets))
            {
                sets = [];
                _indexedByPort.Add(port, sets);
            }

            sets.Add(set);
        }

        return set;
    }

    private void Evict(FreeSet set)
    {
        Evictions++;
        _indexed.Remove(new PortSet(set.Ports));
        if (set.Ports.Length == 1)
        {
            _indexedSinglePorts.Remove(set.Ports[0]);
        }

        foreach (var port in set.Ports)
        {
            var sets = _indexedByPort[port];
            sets.Remove(set);
            if (sets.Count == 0)
            {
                _indexedByPort.Remove(port);
            }
        }
    }

    private sealed class FreeSet(ServicePort[] ports)
    {
        public ServicePort[] Ports { get; } = ports;

        public SortedSet<IpNumber> Addresses { get; } = [];

        public long LastUsed { get; set; }
    }

    /// <summary>A sorted port array compared by content, to key the indexed sets.</summary>
    private readonly struct PortSet(ServicePort[] ports) : IEquatable<PortSet>
    {
        public ServicePort[] Ports { get; } = ports;

        public bool Equals(PortSet other) => Ports.AsSpan().SequenceEqual(other.Ports);

        public override bool Equals(object? obj) => obj is PortSet other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var port in Ports)
            {
                hash.Add(port);
            }

            return hash.ToHashCode();
        }
    }
}
