using System.Collections.Concurrent;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding.Copy;
using LoadBalancer.Infrastructure.Forwarding.Health;
using LoadBalancer.Infrastructure.Forwarding.IoUring;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Forwarding.Udp;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>
/// The forwarder: one listener per load-balancer IP:port and protocol, each with its own backends and policy. TCP
/// listeners run on the io_uring, splice or copy engine, UDP listeners on the UDP engine (<c>Forwarding/Udp</c>); both share the
/// listener's backends, balancing, health and statistics.
/// </summary>
internal sealed class TcpForwarder : IForwarder, IForwarderStatistics, IAsyncDisposable, IDisposable
{
    private readonly ForwarderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IForwardingEngine _engine;
    private readonly DescriptorExhaustion _descriptors;
    private readonly UdpEngine _udpEngine;
    private readonly DescriptorExhaustion _udpDescriptors;
    private readonly HealthCheckRegistry _health;
    private readonly ConcurrentDictionary<PortBinding, ForwardingListener> _listeners = new();
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly ConcurrentDictionary<Task, ForwardingListener> _draining = new();
    private int _disposed;

    public TcpForwarder(ForwarderOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"forwarder options: {string.Join("; ", problems)}", nameof(options));
        }

        _options = options;
        _time = time;
        _logger = loggerFactory.CreateLogger("LoadBalancer.Forwarding");
        _engine = CreateEngine(options, _logger);
        _descriptors = new DescriptorExhaustion(time, _logger, new ConnectionBudget(DescriptorsPerConnection(Engine)));

        // A UDP flow holds one socket; its budget is its own, so a flood of DNS clients cannot take TCP's room at once.
        _udpEngine = new UdpEngine(time, _logger);
        _udpDescriptors = new DescriptorExhaustion(time, _logger, new ConnectionBudget(1));

        // One check per distinct target for the whole forwarder, TCP and UDP listeners alike.
        _health = new HealthCheckRegistry(options, time, _logger);
    }

    /// <summary>The engine actually running: the next one down (io_uring → splice → copy) when this kernel refuses the one asked for.</summary>
    public ForwardingEngine Engine { get; private set; }

    public IReadOnlyList<PortBinding> Listeners => [.. _listeners.Keys];

    /// <summary>Distinct health check targets probed now: one probe loop each, whatever the number of listeners.</summary>
    internal int HealthCheckTargets => _health.Count;

    public async ValueTask<ForwarderResult> ApplyAsync(ListenerSpec listener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (listener.MaxConnections is < 1)
        {
            return ForwarderResult.Failed($"maxConnections: {listener.MaxConnections} must be at least 1");
        }

        if (listener.AffinityTimeout <= TimeSpan.Zero)
        {
            return ForwarderResult.Failed($"affinity timeout: {listener.AffinityTimeout} must be positive");
        }

        if (listener.UdpFlowIdleTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            return ForwarderResult.Failed($"udpFlowIdleTimeout: {idle} must be longer than zero");
        }

        var udp = listener.Binding.Protocol == TransportProtocol.Udp;

        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_listeners.TryGetValue(listener.Binding, out var existing))
            {
                return existing.Apply(listener);
            }

            var result = udp
                ? ForwardingListener.TryStart(listener, _udpEngine, Engine, _options, _time, _logger, _udpDescriptors, _health, out var started)
                : ForwardingListener.TryStart(listener, _engine, Engine, _options, _time, _logger, _descriptors, _health, out started);
            if (started is not null)
            {
                _listeners[listener.Binding] = started;
            }

            return result;
        }
        finally
        {
            _changes.Release();
        }
    }

    public async ValueTask StopAsync(PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        if (await RemoveAsync(binding, cancellationToken).ConfigureAwait(false) is { } listener)
        {
            await listener.StopAsync(drainTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<Task> DetachAsync(PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        if (await RemoveAsync(binding, cancellationToken).ConfigureAwait(false) is not { } listener
            || !await listener.StopAcceptingAsync().ConfigureAwait(false))
        {
            return Task.CompletedTask;
        }

        // Not the caller's token: the caller has let go, and the drain has its own deadline. Disposal waits for it.
        var drain = listener.DrainAsync(drainTimeout, CancellationToken.None).AsTask();
        _draining[drain] = listener;
        _ = drain.ContinueWith(done => _draining.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return drain;
    }

    private async ValueTask<ForwardingListener?> RemoveAsync(PortBinding binding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(binding);
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _listeners.TryRemove(binding, out var listener) ? listener : null;
        }
        finally
        {
            _changes.Release();
        }
    }

    public ListenerStatistics? GetStatistics(PortBinding binding) =>
        _listeners.TryGetValue(binding, out var listener) ? listener.Statistics() : null;

    /// <summary>Listeners that accept connections; detached ones, still draining, are no longer any Service's.</summary>
    public IReadOnlyList<ListenerStatistics> GetAllStatistics() => [.. _listeners.Values.Select(listener => listener.Statistics())];

    /// <summary>Two sockets, and for splice (and io_uring's spliced bulk streams) a pipe (two descriptors) per direction while bytes flow.</summary>
    private static int DescriptorsPerConnection(ForwardingEngine engine) => engine == ForwardingEngine.Copy ? 2 : 6;

    /// <summary>The engine asked for, or the next one down the chain io_uring → splice → copy that this kernel runs, saying why.</summary>
    private IForwardingEngine CreateEngine(ForwarderOptions options, ILogger logger)
    {
        Engine = ChooseEngine(options.Engine, static () => IoUringSupport.UnavailableReason, static () => SpliceSupport.UnavailableReason, logger);
        return Engine switch
        {
            ForwardingEngine.IoUring => new IoUringEngine(options, _time, logger),
            ForwardingEngine.Splice => new SpliceEngine(options, _time, logger),
            _ => new CopyEngine(options, _time, logger),
        };
    }

    /// <summary>
    /// Walks the chain from <paramref name="asked"/> down: each engine's probe says null (it runs here) or why not, which
    /// is logged before the next is tried. The copy engine runs everywhere. A probe is asked only when its engine is reached.
    /// </summary>
    internal static ForwardingEngine ChooseEngine(ForwardingEngine asked, Func<string?> ioUringUnavailable, Func<string?> spliceUnavailable, ILogger logger)
    {
        if (asked == ForwardingEngine.IoUring)
        {
            if (ioUringUnavailable() is not { } reason)
            {
                return ForwardingEngine.IoUring;
            }

            ForwardingLog.IoUringUnavailable(logger, reason);
        }

        if (asked is ForwardingEngine.IoUring or ForwardingEngine.Splice)
        {
            if (spliceUnavailable() is not { } reason)
            {
                return ForwardingEngine.Splice;
            }

            ForwardingLog.SpliceUnavailable(logger, reason);
        }

        return ForwardingEngine.Copy;
    }

    /// <summary>For containers disposed synchronously; prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        foreach (var binding in _listeners.Keys)
        {
            await StopAsync(binding, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        }

        // Detached listeners finish their drains (each bounded by its own deadline) before the engine goes.
        await Task.WhenAll(_draining.Keys).ConfigureAwait(false);
        await _health.DisposeAsync().ConfigureAwait(false);
        _descriptors.Flush();
        _udpDescriptors.Flush();

        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _engine.DisposeAsync().ConfigureAwait(false);
        }
    }
}
