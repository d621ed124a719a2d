using System.Net;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>What an engine needs from its listener: the current route, the counters and the connect rules.</summary>
internal sealed class ListenerContext
{
    private volatile ListenerRoute _route;
    private TaskCompletionSource? _allClosed;

    public ListenerContext(PortBinding binding, string name, ListenerRoute route, ForwarderOptions options, ILogger logger)
    {
        Binding = binding;
        Name = name;
        _route = route;
        Options = options;
        Logger = logger;
    }

    public PortBinding Binding { get; }

    /// <summary>The binding and its Service, as logs name the listener.</summary>
    public string Name { get; }

    public ForwarderOptions Options { get; }

    public ILogger Logger { get; }

    public TrafficCounters Counters { get; } = new();

    public ListenerRoute Route
    {
        get => _route;
        set => _route = value;
    }

    /// <summary>False when the listener is at its connection limit; the caller closes the connection and it is counted.</summary>
    public bool TryAdmit(ListenerRoute route)
    {
        if (route.MaxConnections is not { } limit)
        {
            Counters.ConnectionOpened();
            return true;
        }

        if (Counters.TryConnectionOpened(limit))
        {
            return true;
        }

        Counters.ConnectionRejected();
        return false;
    }

    /// <summary>
    /// The backend for the next connect attempt. A retry skips the backends already tried, prefers the available
    /// ones and then any other, so a client is refused only when every backend has failed it.
    /// </summary>
    public static BackendState? PickBackend(ListenerRoute route, IPEndPoint? client, ReadOnlySpan<BackendState> tried)
    {
        var available = route.Backends.Available;
        if (tried.IsEmpty)
        {
            return available.Length == 0 ? null : route.Policy.Pick(available, client);
        }

        var untried = Untried(available, tried);
        if (untried.Length == 0)
        {
            untried = Untried(route.Backends.All, tried);
        }

        return untried.Length == 0 ? null : route.Policy.Pick(untried, client);
    }

    public static void ConnectSucceeded(BackendState backend)
    {
        backend.Health.ReportConnectSucceeded();
        backend.Counters.ConnectionOpened();
    }

    /// <summary>A refused or timed-out connect: logged, counted against the backend and fed to passive ejection.</summary>
    public void ConnectFailed(BackendState backend, string reason)
    {
        ForwardingLog.ConnectFailed(Logger, Name, backend.EndPoint, reason);
        backend.Health.ReportConnectFailed();
        backend.Counters.ConnectionFailed();
    }

    /// <summary>No backend took the client after <paramref name="attempts"/> tries: logged and counted; the engine resets the client.</summary>
    public void NoBackendConnected(ListenerRoute route, int attempts)
    {
        if (route.Backends.All.Length == 0)
        {
            ForwardingLog.NoBackends(Logger, Name);
        }
        else
        {
            ForwardingLog.NoBackendAccepted(Logger, Name, attempts);
        }

        Counters.ConnectionFailed();
    }

    /// <summary>
    /// A connection of this listener ended. Engines call this rather than <c>Counters.ConnectionClosed</c>, so that a
    /// drain learns when the last one goes instead of polling.
    /// </summary>
    public void ConnectionClosed()
    {
        if (Counters.ConnectionClosed() == 0)
        {
            Volatile.Read(ref _allClosed)?.TrySetResult();
        }
    }

    /// <summary>Completes when no connection is open. For a drain: once the listener accepts no more, it stays so.</summary>
    public Task AllClosedAsync()
    {
        var allClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A full fence before Active is read: a close that brings it to zero after this line sees the new source.
        Interlocked.Exchange(ref _allClosed, allClosed);
        if (Counters.Active == 0)
        {
            allClosed.TrySetResult();
        }

        return allClosed.Task;
    }

    private static BackendState[] Untried(BackendState[] candidates, ReadOnlySpan<BackendState> tried)
    {
        var result = new List<BackendState>(candidates.Length);
        foreach (var candidate in candidates)
        {
            if (!WasTried(candidate, tried))
            {
                result.Add(candidate);
            }
        }

        return [.. result];
    }

    private static bool WasTried(BackendState candidate, ReadOnlySpan<BackendState> tried)
    {
        foreach (var backend in tried)
        {
            if (ReferenceEquals(backend, candidate))
            {
                return true;
            }
        }

        return false;
    }
}
