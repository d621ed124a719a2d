using System.Net;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.ProxyProtocol;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>What an engine needs from its listener: the current route, the counters and the connect rules.</summary>
internal sealed class ListenerContext
{
    private readonly TimeProvider _time;
    private readonly LogRateLimiter _noBackendsLog;
    private readonly LogRateLimiter _noBackendAcceptedLog;
    private readonly DescriptorExhaustion _descriptors;
    private volatile ListenerRoute _route;
    private TaskCompletionSource? _allClosed;

    /// <param name="descriptors">Shared by every listener of a forwarder, so running out of descriptors is one warning, not one per listener.</param>
    public ListenerContext(PortBinding binding, string name, ListenerRoute route, ForwarderOptions options, TimeProvider time, ILogger logger,
        DescriptorExhaustion? descriptors = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        Binding = binding;
        EndPoint = new IPEndPoint(binding.Ip, binding.Port.Port);
        Name = name;
        _route = route;
        Options = options;
        _time = time;
        Logger = logger;
        _descriptors = descriptors ?? new DescriptorExhaustion(time, logger);
        _noBackendsLog = new LogRateLimiter(time, (count, since) =>
            ForwardingLog.ConnectionsRefused(logger, count, name, ForwardingLog.Seconds(since), "no backends"));
        _noBackendAcceptedLog = new LogRateLimiter(time, (count, since) =>
            ForwardingLog.ConnectionsRefused(logger, count, name, ForwardingLog.Seconds(since), "no backend accepted the connection"));
    }

    public PortBinding Binding { get; }

    /// <summary>The address clients connect to: the destination a PROXY protocol header names.</summary>
    public IPEndPoint EndPoint { get; }

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

    /// <summary>
    /// False when the listener is at its connection limit, or the forwarder at its <see cref="ConnectionBudget"/>; the
    /// caller closes the connection and it is counted as rejected. A true answer is paired with one <see cref="ConnectionClosed"/>.
    /// </summary>
    public bool TryAdmit(ListenerRoute route)
    {
        if (!_descriptors.Budget.TryTake())
        {
            Counters.ConnectionRejected();
            _descriptors.ReportBudgetSpent(Name);
            return false;
        }

        if (route.MaxConnections is not { } limit)
        {
            Counters.ConnectionOpened();
            return true;
        }

        if (Counters.TryConnectionOpened(limit))
        {
            return true;
        }

        _descriptors.Budget.Return();
        Counters.ConnectionRejected();
        return false;
    }

    /// <summary>
    /// The PROXY protocol header for a client of this listener (for a route whose <see cref="ListenerRoute.ProxyProtocol"/>
    /// is not None). The destination is the listener's own address: it is bound to one IP, never a wildcard, so that is
    /// the address the client dialled, without a getsockname() per connection.
    /// </summary>
    public byte[] ProxyHeaderFor(ProxyProtocolVersion version, IPEndPoint client) => ProxyHeader.Create(version, client, EndPoint);

    /// <summary>
    /// Nothing to try: the listener has no endpoints. (Unhealthy or ejected backends are still tried when no other is
    /// left, see <see cref="BackendSnapshot.Available"/>.) The engine resets the client at once and calls
    /// <see cref="RefusedWithoutBackends"/>, with no connect and no connection state.
    /// </summary>
    public static bool HasNoBackends(ListenerRoute route) => route.Backends.Available.Length == 0;

    /// <summary>A client reset at accept because there was no backend: counted as failed, logged once per window.</summary>
    public void RefusedWithoutBackends()
    {
        Counters.ConnectionFailed();
        if (_noBackendsLog.TryEnter())
        {
            ForwardingLog.NoBackends(Logger, Name);
        }
    }

    /// <summary>
    /// A client from outside the source ranges reached accept (its handshake finished before the kernel filter was
    /// attached or narrowed, or the kernel refused the filter): the engine closed it at once, before any connect.
    /// </summary>
    public void RefusedBySourceRange() => Counters.RefusedBySourceRange();

    /// <summary>
    /// The backend for the next connect attempt. A retry skips the backends already tried, prefers the available
    /// ones and then any other, so a client is refused only when every backend has failed it. With client-IP affinity
    /// the first attempt goes to the client's backend while it is available (<see cref="ClientAffinityTable"/>).
    /// </summary>
    public static BackendState? PickBackend(ListenerRoute route, IPEndPoint? client, ReadOnlySpan<BackendState> tried)
    {
        var available = route.Backends.Available;
        var affinity = client is null ? null : route.Affinity;
        if (tried.IsEmpty)
        {
            return available.Length == 0 ? null
                : affinity is not null ? affinity.Pick(client!, available, route.Policy)
                : route.Policy.Pick(available, client);
        }

        var untried = Untried(available, tried);
        if (untried.Length == 0)
        {
            untried = Untried(route.Backends.All, tried);
        }

        if (untried.Length == 0)
        {
            return null;
        }

        // The client's backend did not take the connection: it stays where the retry goes, as it would once the
        // backend is ejected, instead of trying the failing one first again.
        var retry = route.Policy.Pick(untried, client);
        affinity?.Assign(client!, retry);
        return retry;
    }

    /// <summary>Rate-limits the connect-failure warnings of one backend of this listener (kept with its <see cref="BackendState"/>).</summary>
    public LogRateLimiter NewConnectFailureLog(IPEndPoint backend) =>
        new(_time, (count, since) => ForwardingLog.ConnectsFailed(Logger, count, Name, backend, ForwardingLog.Seconds(since)));

    public static void ConnectSucceeded(BackendState backend)
    {
        backend.Health.ReportConnectSucceeded();
        backend.Counters.ConnectionOpened();
    }

    /// <summary>A refused or timed-out connect: logged, counted against the backend and fed to passive ejection.</summary>
    public void ConnectFailed(BackendState backend, string reason)
    {
        if (backend.ConnectFailureLog?.TryEnter() ?? true)
        {
            ForwardingLog.ConnectFailed(Logger, Name, backend.EndPoint, reason);
        }

        backend.Health.ReportConnectFailed();
        backend.Counters.ConnectionFailed();
    }

    /// <summary>No backend took the client after <paramref name="attempts"/> tries: counted, logged once per window; the engine resets the client.</summary>
    public void NoBackendConnected(int attempts)
    {
        Counters.ConnectionFailed();
        if (_noBackendAcceptedLog.TryEnter())
        {
            ForwardingLog.NoBackendAccepted(Logger, Name, attempts);
        }
    }

    /// <summary>
    /// An accept or a backend socket failed for want of file descriptors: the process's limit, so one warning for the
    /// forwarder and nothing against a backend (no connect failure, no ejection, no "no backend accepted").
    /// <paramref name="clientReset"/>: a client was accepted and is reset, counted as a failed connection of the listener.
    /// </summary>
    public void OutOfDescriptors(string operation, int? errno, bool clientReset)
    {
        if (clientReset)
        {
            Counters.ConnectionFailed();
        }

        _descriptors.Report(Name, operation, errno);
    }

    /// <summary>
    /// A connection of this listener ended. Engines call this rather than <c>Counters.ConnectionClosed</c>, so that a
    /// drain learns when the last one goes instead of polling.
    /// </summary>
    public void ConnectionClosed()
    {
        _descriptors.Budget.Return();
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

    /// <summary>Reports what the rate-limited warnings counted (the listener is stopping), so no count is lost with it.</summary>
    public void FlushLogs(IEnumerable<BackendState> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        _noBackendsLog.Flush();
        _noBackendAcceptedLog.Flush();
        foreach (var backend in backends)
        {
            backend.ConnectFailureLog?.Flush();
        }
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
