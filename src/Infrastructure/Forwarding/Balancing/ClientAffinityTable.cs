using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>
/// Kubernetes' <c>sessionAffinity: ClientIP</c> for one listener (one Service port, as kube-proxy keeps it): which
/// backend each client address was given, and when it last opened a connection. The first connection of an address
/// is placed by the listener's balancing policy; later ones go to the same backend while that backend is available and
/// the entry is younger than <see cref="Timeout"/>, counted from the client's last new connection (kube-proxy's
/// iptables <c>recent --rcheck --seconds</c> and nftables set timeouts, both refreshed by each new connection; a
/// long-lived connection does not keep its entry alive). A client whose backend is gone, unavailable or expired is
/// placed again and the new backend is recorded.
/// </summary>
/// <remarks>
/// Read by every engine thread at once without a lock: a lookup is one <see cref="ConcurrentDictionary{TKey,TValue}"/>
/// read and a volatile write of the entry's time. Expired entries are replaced when their client comes back and swept
/// when the table is full; then, if fewer than a sixteenth of <see cref="Capacity"/> had expired, the least recently
/// used sixteenth is evicted (one sort of the entries' times per that many new clients), so the table holds at most
/// about <see cref="Capacity"/> entries (a few more while concurrent first connections race the sweep).
/// </remarks>
internal sealed class ClientAffinityTable
{
    /// <summary>About 9 MB of entries per listener at most (measured: 133 bytes an entry).</summary>
    public const int DefaultCapacity = 65_536;

    private readonly ConcurrentDictionary<UInt128, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly Lock _sweeping = new();
    private readonly Action<int, int>? _evicted;
    private TimeSpan _timeout;
    private long _timeoutTicks;
    private int _count;

    /// <param name="evicted">Called after a sweep of a full table evicted live entries: how many, and the capacity.</param>
    public ClientAffinityTable(TimeSpan timeout, TimeProvider time, int capacity = DefaultCapacity, Action<int, int>? evicted = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        Capacity = capacity;
        _evicted = evicted;
        Timeout = timeout;
    }

    public int Capacity { get; }

    /// <summary>Entries held, expired ones included until they are swept or replaced.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Changed in place when the Service's timeout changes, so the entries are kept.</summary>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _timeout = value;

            // In the clock's timestamp units, so that a lookup compares two longs; beyond long range it never expires.
            var ticks = value.TotalSeconds * _time.TimestampFrequency;
            Volatile.Write(ref _timeoutTicks, ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)ticks);
        }
    }

    /// <summary>
    /// The backend for a new connection of <paramref name="client"/>: the one it has while that is among
    /// <paramref name="candidates"/> (the available backends) and not expired, else the policy's pick, which is recorded.
    /// </summary>
    /// <param name="candidates">Never empty.</param>
    public BackendState Pick(IPEndPoint client, ReadOnlySpan<BackendState> candidates, ILoadBalancingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(policy);
        var key = KeyOf(client.Address);
        var now = _time.GetTimestamp();
        BackendState? chosen = null;

        // Each turn either returns or lost a race with another connection of the same client; a few are plenty, and if
        // they all lose the connection still gets a backend, only unrecorded.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                if (!IsExpired(entry, now) && Contains(candidates, entry.Backend))
                {
                    entry.Touch(now);
                    return entry.Backend;
                }

                chosen ??= policy.Pick(candidates, client);
                if (_entries.TryUpdate(key, new Entry(chosen, now), entry))
                {
                    return chosen;
                }
            }
            else
            {
                chosen ??= policy.Pick(candidates, client);
                if (_entries.TryAdd(key, new Entry(chosen, now)))
                {
                    if (Interlocked.Increment(ref _count) > Capacity)
                    {
                        Sweep(now);
                    }

                    return chosen;
                }
            }
        }

        return chosen ?? policy.Pick(candidates, client);
    }

    /// <summary>
    /// Records <paramref name="backend"/> for <paramref name="client"/>: a retry went elsewhere because the client's
    /// backend did not take the connection, and the client stays where the retry went.
    /// </summary>
    public void Assign(IPEndPoint client, BackendState backend)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(backend);
        var key = KeyOf(client.Address);
        var now = _time.GetTimestamp();
        var added = false;
        _ = _entries.AddOrUpdate(key, _ => { added = true; return new Entry(backend, now); }, (_, _) => { added = false; return new Entry(backend, now); });
        if (added && Interlocked.Increment(ref _count) > Capacity)
        {
            Sweep(now);
        }
    }

    /// <summary>The backend recorded for <paramref name="client"/>, expired or not (for tests and diagnostics).</summary>
    public BackendState? Find(IPAddress client) => _entries.TryGetValue(KeyOf(client), out var entry) ? entry.Backend : null;

    /// <summary>
    /// After the listener's backend set changed: entries move to the state now kept for their backend's address (a
    /// change of health-check settings makes new states), and entries of backends that left are dropped, so their
    /// clients are placed again and the old states are not held. Called by the one thread that applies changes.
    /// </summary>
    public void Rebind(IReadOnlyDictionary<IPEndPoint, BackendState> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        foreach (var (key, entry) in _entries)
        {
            if (!backends.TryGetValue(entry.Backend.EndPoint, out var current))
            {
                Remove(key, entry);
            }
            else if (!ReferenceEquals(current, entry.Backend))
            {
                // Lost to a concurrent pick of the same client: that one is already current.
                _ = _entries.TryUpdate(key, new Entry(current, entry.LastUsed), entry);
            }
        }
    }

    /// <summary>The IPv6 form of the address as one number; IPv4 as ::ffff:a.b.c.d, the form a dual-stack socket reports it in.</summary>
    internal static UInt128 KeyOf(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes[..10].Clear();
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            if (!address.TryWriteBytes(bytes[12..], out _))
            {
                throw new UnreachableException("an IPv4 address is 4 bytes");
            }
        }
        else if (!address.TryWriteBytes(bytes, out _))
        {
            throw new UnreachableException("an IPv6 address is 16 bytes");
        }

        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private bool IsExpired(Entry entry, long now) => now - entry.LastUsed >= Volatile.Read(ref _timeoutTicks);

    private static bool Contains(ReadOnlySpan<BackendState> candidates, BackendState backend)
    {
        foreach (var candidate in candidates)
        {
            if (ReferenceEquals(candidate, backend))
            {
                return true;
            }
        }

        return false;
    }

    private void Remove(UInt128 key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<UInt128, Entry>(key, entry)))
        {
            _ = Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Brings a full table back under its capacity, leaving room for a sixteenth of it; one sweeper at a time.</summary>
    private void Sweep(long now)
    {
        if (!_sweeping.TryEnter())
        {
            return;
        }

        try
        {
            var target = Capacity - Math.Max(1, Capacity / 16);
            foreach (var (key, entry) in _entries)
            {
                if (IsExpired(entry, now))
                {
                    Remove(key, entry);
                }
            }

            var excess = Count - target;
            if (excess <= 0)
            {
                return;
            }

            // The least recently used: every entry's time, the excess-th smallest is the cut.
            var times = ArrayPool<long>.Shared.Rent(Count + 64);
            try
            {
                var length = 0;
                foreach (var (_, entry) in _entries)
                {
                    if (length == times.Length)
                    {
                        break;
                    }

                    times[length++] = entry.LastUsed;
                }

                Array.Sort(times, 0, length);
                var cut = times[Math.Min(excess, length) - 1];
                var evicted = 0;
                foreach (var (key, entry) in _entries)
                {
                    if (evicted >= excess)
                    {
                        break;
                    }

                    if (entry.LastUsed <= cut)
                    {
                        Remove(key, entry);
                        evicted++;
                    }
                }

                _evicted?.Invoke(evicted, Capacity);
            }
            finally
            {
                ArrayPool<long>.Shared.Return(times);
            }
        }
        finally
        {
            _sweeping.Exit();
        }
    }

    /// <summary>A client's backend; replaced, not changed, when the client moves, so a reader never sees half of a move.</summary>
    private sealed class Entry(BackendState backend, long lastUsed)
    {
        private long _lastUsed = lastUsed;

        public BackendState Backend { get; } = backend;

        public long LastUsed => Volatile.Read(ref _lastUsed);

        /// <summary>Racing touches write nearly the same time; which one lands does not matter.</summary>
        public void Touch(long now) => Volatile.Write(ref _lastUsed, now);
    }
}
