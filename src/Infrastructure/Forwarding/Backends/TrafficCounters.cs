using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Forwarding.Backends;

/// <summary>Counters of one listener or one backend, updated lock-free by the connections that pass through it.</summary>
public sealed class TrafficCounters
{
    private long _opened;
    private long _active;
    private long _failed;
    private long _rejected;
    private long _bytesFromClient;
    private long _bytesFromBackend;
    private long _datagramsFromClient;
    private long _datagramsFromBackend;
    private long _datagramsDropped;
    private long _refusedBySourceRange;

    public long Active => Volatile.Read(ref _active);

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref _opened);
        Interlocked.Increment(ref _active);
    }

    /// <summary>Opens a connection unless <paramref name="limit"/> are open already; atomic, for many accepting threads.</summary>
    internal bool TryConnectionOpened(long limit)
    {
        var active = Volatile.Read(ref _active);
        while (active < limit)
        {
            var seen = Interlocked.CompareExchange(ref _active, active + 1, active);
            if (seen == active)
            {
                Interlocked.Increment(ref _opened);
                return true;
            }

            active = seen;
        }

        return false;
    }

    /// <returns>The connections still open.</returns>
    internal long ConnectionClosed() => Interlocked.Decrement(ref _active);

    /// <summary>
    /// For a listener, a client connection that could not be forwarded (it had no backend, or none answered); for a
    /// backend, a connect attempt to it that failed (refused or timed out).
    /// </summary>
    internal void ConnectionFailed() => Interlocked.Increment(ref _failed);

    /// <summary>A connection refused because the listener was at its limit.</summary>
    internal void ConnectionRejected() => Interlocked.Increment(ref _rejected);

    /// <summary>A client accepted from outside the source ranges, and closed at once.</summary>
    internal void RefusedBySourceRange() => Interlocked.Increment(ref _refusedBySourceRange);

    internal void AddFromClient(long bytes) => Interlocked.Add(ref _bytesFromClient, bytes);

    internal void AddFromBackend(long bytes) => Interlocked.Add(ref _bytesFromBackend, bytes);

    /// <summary>UDP: datagrams (and their bytes) forwarded client → backend, added once per batch.</summary>
    internal void AddDatagramsFromClient(long datagrams, long bytes)
    {
        Interlocked.Add(ref _datagramsFromClient, datagrams);
        Interlocked.Add(ref _bytesFromClient, bytes);
    }

    /// <summary>UDP: datagrams (and their bytes) forwarded backend → client.</summary>
    internal void AddDatagramsFromBackend(long datagrams, long bytes)
    {
        Interlocked.Add(ref _datagramsFromBackend, datagrams);
        Interlocked.Add(ref _bytesFromBackend, bytes);
    }

    /// <summary>UDP: datagrams not forwarded (no flow could be opened, a full socket buffer, the backend's port closed).</summary>
    internal void AddDatagramsDropped(long datagrams) => Interlocked.Add(ref _datagramsDropped, datagrams);

    public TrafficSnapshot Snapshot() => new(
        Volatile.Read(ref _opened),
        Volatile.Read(ref _active),
        Volatile.Read(ref _failed),
        Volatile.Read(ref _rejected),
        Volatile.Read(ref _bytesFromClient),
        Volatile.Read(ref _bytesFromBackend))
    {
        DatagramsFromClient = Volatile.Read(ref _datagramsFromClient),
        DatagramsFromBackend = Volatile.Read(ref _datagramsFromBackend),
        DatagramsDropped = Volatile.Read(ref _datagramsDropped),
        RefusedBySourceRange = Volatile.Read(ref _refusedBySourceRange),
    };
}
