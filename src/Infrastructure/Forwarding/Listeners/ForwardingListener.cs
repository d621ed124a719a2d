using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Filtering;
using LoadBalancer.Infrastructure.Forwarding.Health;
using LoadBalancer.Infrastructure.Forwarding.Udp;
using LoadBalancer.Infrastructure.Os;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>
/// One listening IP:port: its socket, its engine runtime, its backends (kept across updates so counters and health
/// survive) and its health checker. Updates swap a new route; the engine reads it per accepted connection.
/// </summary>
internal sealed class ForwardingListener
{
    // Task.Delay takes at most about 49 days; a longer drain is as good as endless.
    private static readonly TimeSpan MaxDrain = TimeSpan.FromDays(30);

    private readonly Socket _socket;
    private readonly IListenerRuntime _runtime;
    private readonly ForwarderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Dictionary<IPEndPoint, BackendState> _backends = [];
    private HealthCheckSettings _healthCheck;
    private ProxyProtocolVersion _proxyProtocol;
    private readonly HealthCheckRegistry _health;
    private ListenerHealthChecks? _checker;
    private ListenerHealthChecks? _retiredChecker;
    private ClientAffinityTable? _affinity;
    private LogRateLimiter? _affinityEvictionLog;
    private bool _stopped;
    private IReadOnlyList<IpCidr> _sourceRanges = [];

    private ForwardingListener(Socket socket, ListenerContext context, ServiceKey service, IForwardingEngine engine, HealthCheckSettings healthCheck,
        ForwarderOptions options, TimeProvider time, ILogger logger, HealthCheckRegistry health)
    {
        _health = health;
        _socket = socket;
        Service = service;
        Context = context;
        _healthCheck = healthCheck;
        _options = options;
        _time = time;
        _logger = logger;
        _runtime = engine.Start(socket, context);
    }

    public ListenerContext Context { get; }

    /// <summary>The Service the listener was started for; a binding belongs to one Service until its listener stops.</summary>
    public ServiceKey Service { get; }

    /// <summary>The one failure a newcomer meets first: a port below 1024 without the privilege to bind it.</summary>
    internal static string Hint(SocketException exception, int port) =>
        exception.SocketErrorCode == SocketError.AccessDenied && port < 1024
            ? $" (ports below 1024 need CAP_NET_BIND_SERVICE: {CapabilityText.HowToGrant(LinuxCapability.NetBindService)}; or lower `sysctl net.ipv4.ip_unprivileged_port_start`)"
            : string.Empty;

    /// <summary>Binds and starts a listener, or says why it cannot (the address is taken, not local, ...).</summary>
    /// <param name="health">The forwarder's checks, shared with every other listener whose backends have the same targets.</param>
    public static ForwarderResult TryStart(ListenerSpec spec, IForwardingEngine engine, ForwardingEngine engineKind,
        ForwarderOptions options, TimeProvider time, ILogger logger, DescriptorExhaustion descriptors, HealthCheckRegistry health,
        out ForwardingListener? listener)
    {
        listener = null;
        if (!LoadBalancingPolicies.TryCreate(spec.Policy, out var policy))
        {
            return ForwarderResult.Failed(LoadBalancingPolicyNames.UnknownMessage(spec.Policy));
        }

        var endPoint = new IPEndPoint(spec.Binding.Ip, spec.Binding.Port.Port);
        Socket socket;
        string? filterProblem;
        try
        {
            socket = spec.Binding.Protocol == TransportProtocol.Udp
                ? UdpSockets.Bind(endPoint, spec.SourceRanges, out filterProblem)
                : ListenTcp(endPoint, spec.SourceRanges, out filterProblem);
        }
        catch (SocketException exception)
        {
            return ForwarderResult.Failed($"cannot listen on {spec.Binding}: {exception.Message}{Hint(exception, endPoint.Port)}");
        }

        var name = $"{spec.Binding} ({spec.Service})";
        var context = new ListenerContext(spec.Binding, name, Route(spec, BackendSnapshot.Empty, policy, options), options, time, logger, descriptors);
        listener = new ForwardingListener(socket, context, spec.Service, engine, spec.HealthCheck, options, time, logger, health);
        listener.Update(spec, policy);
        listener.ReportSourceRanges(spec.SourceRanges, filterProblem);
        if (spec.Binding.Protocol == TransportProtocol.Udp)
        {
            UdpLog.ListenerStarted(logger, name, UdpListenerLoop.Batch, policy.Name, spec.Backends.Count, context.Route.FlowIdleTimeout, context.Route.MaxConnections);
        }
        else
        {
            ForwardingLog.ListenerStarted(logger, name, engineKind, policy.Name, spec.Backends.Count);
        }

        return ForwarderResult.Success;
    }

    /// <param name="filterProblem">Null when the source-range filter is attached (or none is asked for); else why the kernel refused it.</param>
    private static Socket ListenTcp(IPEndPoint endPoint, IReadOnlyList<IpCidr> sourceRanges, out string? filterProblem)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            AddressReuse.Enable(socket);

            // Linux copies TCP_NODELAY from the listening socket to every socket it accepts: set once here, it spares
            // each connection a setsockopt on its client socket (the engines count on it; a test reads it back).
            socket.NoDelay = true;

            // Before listen, so that no client from outside the ranges completes a handshake in between.
            filterProblem = sourceRanges.Count > 0 ? SourceRangeFilter.Attach(socket, sourceRanges) : null;
            socket.Bind(endPoint);
            socket.Listen(4096);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>UDP listeners count flows against <see cref="ForwarderOptions.MaxUdpFlowsPerListener"/> unless the spec sets its own limit.</summary>
    private static ListenerRoute Route(ListenerSpec spec, BackendSnapshot backends, ILoadBalancingPolicy policy, ForwarderOptions options,
        ClientAffinityTable? affinity = null) =>
        spec.Binding.Protocol == TransportProtocol.Udp
            ? new ListenerRoute(backends, policy, spec.MaxConnections ?? options.MaxUdpFlowsPerListener, affinity)
            {
                FlowIdleTimeout = spec.UdpFlowIdleTimeout ?? options.UdpFlowIdleTimeout,
            }
            : new ListenerRoute(backends, policy, spec.MaxConnections ?? options.MaxConnectionsPerListener, affinity);

    public ForwarderResult Apply(ListenerSpec spec)
    {
        if (!LoadBalancingPolicies.TryCreate(spec.Policy, out var policy))
        {
            return ForwarderResult.Failed(LoadBalancingPolicyNames.UnknownMessage(spec.Policy));
        }

        Update(spec, policy);
        ApplySourceRanges(spec.SourceRanges);
        ForwardingLog.ListenerUpdated(_logger, Context.Name, spec.Backends.Count, policy.Name);
        return ForwarderResult.Success;
    }

    /// <summary>Reads the counters and the current backend snapshot; nothing on the data path waits for it.</summary>
    public ListenerStatistics Statistics()
    {
        var route = Context.Route;
        var available = route.Backends.Available.ToHashSet();
        var backends = route.Backends.All
            .Select(backend => new BackendStatistics(
                backend.Endpoint,
                backend.Endpoint.Ready ? backend.Health.State : BackendHealthState.NotReady,
                available.Contains(backend) && !route.Backends.IsFallback,
                backend.Counters.Snapshot())
            {
                Ejections = backend.Health.Ejections,
            })
            .ToList();
        return new ListenerStatistics(Context.Binding, Service, Context.Counters.Snapshot(), backends)
        {
            FallingBack = route.Backends.IsFallback,
        };
    }

    /// <summary>Stops accepting, waits for open connections up to the deadline, then closes what is left.</summary>
    public async ValueTask StopAsync(TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        if (await StopAcceptingAsync().ConfigureAwait(false))
        {
            await DrainAsync(drainTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops accepting and closes the listening socket, which frees the IP:port.</summary>
    /// <returns>False when the listener was stopped before (its drain is someone else's).</returns>
    public async ValueTask<bool> StopAcceptingAsync()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }

            _stopped = true;
            _retiredChecker = _checker;
            _checker = null;
            foreach (var backend in _backends.Values)
            {
                backend.Health.AvailabilityChanged -= OnAvailabilityChanged;
            }
        }

        await _runtime.StopAcceptingAsync().ConfigureAwait(false);
        _socket.Dispose();
        return true;
    }

    /// <summary>After <see cref="StopAcceptingAsync"/>: waits for open connections up to the deadline, then closes what is left.</summary>
    /// <param name="cancellationToken">Cancelled: close what is left now.</param>
    public async ValueTask DrainAsync(TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        var open = Context.Counters.Active;
        ForwardingLog.ListenerDraining(_logger, Context.Name, open, drainTimeout);
        if (drainTimeout > TimeSpan.Zero)
        {
            // The last connection's close ends the wait at once; the deadline is a timer of the injected clock.
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var deadline = Task.Delay(drainTimeout < MaxDrain ? drainTimeout : MaxDrain, _time, waiting.Token);
            await Task.WhenAny(Context.AllClosedAsync(), deadline).ConfigureAwait(false);

            // Ends the deadline's timer when the connections went first; a cancelled delay is never awaited.
            await waiting.CancelAsync().ConfigureAwait(false);
        }

        // What is open now is cut (a connection that ends between this read and the close is counted as cut).
        var cut = Context.Counters.Active;
        await _runtime.CloseConnectionsAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _retiredChecker, null) is { } checker)
        {
            await checker.DisposeAsync().ConfigureAwait(false);
        }

        BackendState[] backends;
        lock (_gate)
        {
            backends = [.. _backends.Values];
        }

        Context.FlushLogs(backends);
        _affinityEvictionLog?.Flush();
        ForwardingLog.ListenerStopped(_logger, Context.Name, open, cut, drainTimeout);
    }

    private void Update(ListenerSpec spec, ILoadBalancingPolicy policy)
    {
        ListenerHealthChecks? retired = null;
        lock (_gate)
        {
            // Checks carry the header too (it is part of the check's key), so a change of header starts the backends' health afresh.
            var healthChanged = spec.HealthCheck != _healthCheck || spec.ProxyProtocol != _proxyProtocol;
            var next = new Dictionary<IPEndPoint, BackendState>();
            foreach (var endpoint in spec.Backends)
            {
                var key = endpoint.ToIPEndPoint();
                if (next.ContainsKey(key))
                {
                    continue;
                }

                if (!healthChanged && _backends.TryGetValue(key, out var existing))
                {
                    existing.Endpoint = endpoint;
                    next[key] = existing;
                }
                else
                {
                    var created = new BackendState(endpoint, new BackendHealth(spec.HealthCheck, _options, _time))
                    {
                        ConnectFailureLog = Context.NewConnectFailureLog(key),
                    };
                    created.Health.AvailabilityChanged += OnAvailabilityChanged;
                    next[key] = created;
                }
            }

            var backendsReplaced = next.Count != _backends.Count;
            foreach (var (key, old) in _backends)
            {
                if (!next.TryGetValue(key, out var kept) || !ReferenceEquals(kept, old))
                {
                    old.Health.AvailabilityChanged -= OnAvailabilityChanged;
                    backendsReplaced = true;
                }
            }

            _backends = next;
            _healthCheck = spec.HealthCheck;
            _proxyProtocol = spec.ProxyProtocol;
            var affinity = UpdateAffinity(spec.AffinityTimeout, policy);
            if (backendsReplaced)
            {
                affinity?.Rebind(next);
            }

            var states = next.Values.ToArray();
            Context.Route = Route(spec, new BackendSnapshot(states), policy, _options, affinity) with
            {
                SourceRanges = SourceRangeSet.For(spec.SourceRanges),
                ProxyProtocol = spec.ProxyProtocol,
            };
            if (healthChanged || (_checker is null && spec.HealthCheck.Enabled))
            {
                retired = _checker;
                _checker = spec.HealthCheck.Enabled ? new ListenerHealthChecks(_health, spec.HealthCheck, spec.ProxyProtocol, Context.Name) : null;
            }

            _checker?.SetBackends(states);
        }

        if (retired is not null)
        {
            _ = retired.DisposeAsync().AsTask();
        }
    }

    /// <summary>
    /// The table is kept while the Service keeps its affinity, whatever else changes (backends, policy, timeout), so
    /// clients stay where they are; it goes when the Service turns affinity off. Under <see cref="_gate"/>.
    /// </summary>
    private ClientAffinityTable? UpdateAffinity(TimeSpan? timeout, ILoadBalancingPolicy policy)
    {
        if (timeout is not { } wanted)
        {
            if (_affinity is { } dropped)
            {
                ClientAffinityLog.Off(_logger, Context.Name, dropped.Count);
                _affinity = null;
            }

            return null;
        }

        if (_affinity is null)
        {
            _affinityEvictionLog ??= new LogRateLimiter(_time, (count, since) =>
                ClientAffinityLog.EvictedAgain(_logger, Context.Name, count, ForwardingLog.Seconds(since)));
            var evictionLog = _affinityEvictionLog;
            _affinity = new ClientAffinityTable(wanted, _time, evicted: (evicted, capacity) =>
            {
                if (evictionLog.TryEnter())
                {
                    ClientAffinityLog.Evicted(_logger, Context.Name, capacity, evicted);
                }
            });
            ClientAffinityLog.On(_logger, Context.Name, wanted, policy.Name, _affinity.Capacity);
        }
        else if (_affinity.Timeout != wanted)
        {
            _affinity.Timeout = wanted;
            ClientAffinityLog.TimeoutChanged(_logger, Context.Name, wanted);
        }

        return _affinity;
    }

    /// <summary>
    /// Replaces the kernel filter when the ranges changed. The accept-time check in the route (set by <see cref="Update"/>)
    /// already holds the new ranges, and refuses what completed its handshake under the old filter.
    /// </summary>
    private void ApplySourceRanges(IReadOnlyList<IpCidr> ranges)
    {
        lock (_gate)
        {
            if (_stopped || ranges.SequenceEqual(_sourceRanges))
            {
                return;
            }

            ReportSourceRanges(ranges, SourceRangeFilter.Attach(_socket, ranges));
        }
    }

    private void ReportSourceRanges(IReadOnlyList<IpCidr> ranges, string? filterProblem)
    {
        var had = _sourceRanges.Count > 0;
        _sourceRanges = ranges;
        var text = string.Join(", ", ranges);
        if (filterProblem is not null && ranges.Count > 0)
        {
            SourceRangeLog.FilterRefused(_logger, Context.Name, filterProblem, text);
        }
        else if (ranges.Count > 0)
        {
            SourceRangeLog.Restricted(_logger, Context.Name, text);
        }
        else if (filterProblem is not null)
        {
            SourceRangeLog.FilterNotRemoved(_logger, Context.Name, filterProblem);
        }
        else if (had)
        {
            SourceRangeLog.Unrestricted(_logger, Context.Name);
        }
    }

    private void OnAvailabilityChanged()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            var route = Context.Route;
            var snapshot = new BackendSnapshot(route.Backends.All);
            Context.Route = route with { Backends = snapshot };
            if (snapshot.IsFallback && !route.Backends.IsFallback)
            {
                // Thousands of Services on the same dead nodes fall back at once: one line per window, not one each.
                _health.ReportFallback(Context.Name);
            }
        }
    }
}
