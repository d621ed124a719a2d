using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>The io_uring engine: its loops (one ring and thread each) start with the first listener and stop with the forwarder.</summary>
internal sealed class IoUringEngine : IForwardingEngine
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(10);

    private readonly ForwarderOptions _options;
    private readonly ForwarderClock _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly int _bufferCount;
    private UringLoop[]? _loops;

    /// <param name="bufferCount">Ring buffers per loop (a power of two); tests make it tiny to run the ring dry.</param>
    public IoUringEngine(ForwarderOptions options, TimeProvider time, ILogger logger, int bufferCount = UringLoop.DefaultBufferCount)
    {
        _options = options;
        _bufferCount = bufferCount;
        _clock = new ForwarderClock(time);
        _logger = logger;
    }

    /// <summary>Directions of every loop that switched from ring buffers to splice.</summary>
    internal long SpliceSwitches
    {
        get
        {
            lock (_gate)
            {
                return _loops?.Sum(loop => loop.SpliceSwitches) ?? 0;
            }
        }
    }

    /// <summary>Receives of every loop that found the buffer ring empty and used a spill buffer.</summary>
    internal long SpillReceives
    {
        get
        {
            lock (_gate)
            {
                return _loops?.Sum(loop => loop.SpillReceives) ?? 0;
            }
        }
    }

    /// <summary>Connects of every loop ended by the kernel's linked timeout.</summary>
    internal long LinkedTimeouts
    {
        get
        {
            lock (_gate)
            {
                return _loops?.Sum(loop => loop.LinkedTimeouts) ?? 0;
            }
        }
    }

    public IListenerRuntime Start(Socket listeningSocket, ListenerContext context)
    {
        var loops = EnsureLoops();
        var added = false;
        listeningSocket.SafeHandle.DangerousAddRef(ref added);
        var fd = (int)listeningSocket.SafeHandle.DangerousGetHandle();

        // Several loops accept on this fd; non-blocking, so the kernel's attempt for a loop that lost the race says EAGAIN at once.
        _ = Native.fcntl(fd, Native.F_SETFL, Native.fcntl(fd, Native.F_GETFL, 0) | Native.O_NONBLOCK);
        foreach (var loop in loops)
        {
            loop.Post(l => l.AddListener(fd, context));
        }

        return new Runtime(loops, listeningSocket, context);
    }

    public async ValueTask DisposeAsync()
    {
        UringLoop[]? loops;
        lock (_gate)
        {
            loops = _loops;
            _loops = null;
        }

        if (loops is null)
        {
            return;
        }

        foreach (var loop in loops)
        {
            loop.RequestStop();
        }

        await Task.WhenAll(loops.Select(loop => loop.Stopped)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    private UringLoop[] EnsureLoops()
    {
        lock (_gate)
        {
            if (_loops is null)
            {
                var count = Math.Max(1, _options.EventLoops);
                var loops = new UringLoop[count];
                for (var i = 0; i < count; i++)
                {
                    loops[i] = new UringLoop(i, _options, _clock, _logger, _bufferCount);
                    loops[i].Start();
                }

                try
                {
                    // The rings are made on the loops' threads (SINGLE_ISSUER); the probe ran the same setup, so this fails only when the kernel ran out of memory.
                    if (!Task.WhenAll(loops.Select(loop => loop.Started)).Wait(StartLimit))
                    {
                        throw new AggregateException(new TimeoutException($"the loops did not set up their rings within {StartLimit.TotalSeconds:F0} s"));
                    }
                }
                catch (AggregateException exception)
                {
                    foreach (var loop in loops)
                    {
                        loop.RequestStop();
                    }

                    throw new SocketException((int)SocketError.SocketError, $"io_uring loops failed to start: {exception.InnerException?.Message}");
                }

                _loops = loops;
            }

            return _loops;
        }
    }

    private sealed class Runtime(UringLoop[] loops, Socket listeningSocket, ListenerContext context) : IListenerRuntime
    {
        private int _released;

        /// <summary>Completes once every loop confirmed its accept on the socket is cancelled, so the fd can be closed.</summary>
        public async ValueTask StopAcceptingAsync()
        {
            await Task.WhenAll(loops.Select(loop => loop.RemoveListenerAsync(context))).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                listeningSocket.SafeHandle.DangerousRelease();
            }
        }

        public async ValueTask CloseConnectionsAsync() =>
            await Task.WhenAll(loops.Select(loop => loop.PostAsync(l => l.CloseConnections(context)))).ConfigureAwait(false);
    }
}
