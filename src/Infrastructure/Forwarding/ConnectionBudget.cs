using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>
/// The most connections the whole forwarder holds at once, so that its connections never take the process's last file
/// descriptors. The runtime needs a few of its own to start a thread or a timer, and when it cannot it fails with
/// <see cref="OutOfMemoryException"/> and the daemon dies (seen under <c>prlimit --nofile=256</c> on one CPU, where the
/// thread pool adds a worker just as the clients take the last descriptor). So, like HAProxy's maxconn derived from
/// <c>ulimit -n</c>, a client past the budget is refused at accept, and a reserve is always left.
/// </summary>
/// <remarks>
/// The budget is computed on the first connection, not at construction: by then start-up has raised the soft limit to
/// the hard one and opened what the daemon itself holds (assemblies, logs, the API connection, the listeners).
/// </remarks>
internal sealed class ConnectionBudget
{
    /// <summary>Descriptors left to the daemon beyond what it held at its first connection: at least this many, or an eighth of the limit.</summary>
    public const int MinimumReserve = 64;

    private readonly Func<DescriptorLimits?> _limits;
    private readonly Func<int> _openDescriptors;
    private readonly int _descriptorsPerConnection;
    private int _open;
    private long _limit = -1;
    private DescriptorLimits? _computedFrom;

    /// <param name="descriptorsPerConnection">The most one connection holds in the engine (two sockets, and pipes for splice).</param>
    /// <param name="limits">The process's RLIMIT_NOFILE; null when unknown (then there is no budget).</param>
    /// <param name="openDescriptors">How many descriptors the process holds now.</param>
    public ConnectionBudget(int descriptorsPerConnection, Func<DescriptorLimits?>? limits = null, Func<int>? openDescriptors = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(descriptorsPerConnection, 1);
        _descriptorsPerConnection = descriptorsPerConnection;
        _limits = limits ?? FileDescriptorLimit.Current;
        _openDescriptors = openDescriptors ?? FileDescriptorLimit.OpenNow;
    }

    public int DescriptorsPerConnection => _descriptorsPerConnection;

    /// <summary>The connections held now (taken and not yet returned).</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>The most connections at once; computed on first use, <see cref="long.MaxValue"/> when the limit is unknown or unlimited.</summary>
    public long Limit
    {
        get
        {
            var limit = Volatile.Read(ref _limit);
            if (limit >= 0)
            {
                return limit;
            }

            // Two first connections at once compute the same figure; either store is fine. The limits first, so that
            // whoever reads the budget also finds what it was computed from.
            var limits = _limits();
            limit = Compute(limits, _openDescriptors(), _descriptorsPerConnection);
            _computedFrom = limits;
            Volatile.Write(ref _limit, limit);
            return limit;
        }
    }

    /// <summary>The limits the budget was computed from, for the warning (the current ones before the first connection).</summary>
    public DescriptorLimits? Limits => Volatile.Read(ref _limit) >= 0 ? _computedFrom : _limits();

    /// <summary>Descriptors kept back for the daemon itself under <paramref name="softLimit"/>.</summary>
    public static long Reserve(ulong softLimit) => Math.Max(MinimumReserve, (long)Math.Min(softLimit / 8, int.MaxValue));

    /// <summary>
    /// (soft limit − open now − reserve) / per connection, at least one: a daemon started with almost no room still
    /// serves one client at a time rather than none.
    /// </summary>
    public static long Compute(DescriptorLimits? limits, int openNow, int descriptorsPerConnection)
    {
        if (limits is not { } known || known.Soft >= (ulong)long.MaxValue)
        {
            return long.MaxValue;
        }

        var room = (long)known.Soft - openNow - Reserve(known.Soft);
        return Math.Max(1, room / descriptorsPerConnection);
    }

    /// <summary>Takes a place for one connection; false when the budget is spent (the caller refuses the client).</summary>
    public bool TryTake()
    {
        var limit = Limit;
        if (Interlocked.Increment(ref _open) <= limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back the place of a connection that was taken with <see cref="TryTake"/>.</summary>
    public void Return() => Interlocked.Decrement(ref _open);
}
