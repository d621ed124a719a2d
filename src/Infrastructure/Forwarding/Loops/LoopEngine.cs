using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

/// <summary>
/// An engine of loop threads (one per core, each owning the connections it accepted): the loops start with the first
/// listener, every loop accepts on every listening socket, and they stop with the forwarder.
/// </summary>
internal abstract class LoopEngine<TLoop> : IForwardingEngine
    where TLoop : class, IEngineLoop
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private TLoop[]? _loops;

    protected LoopEngine(ForwarderOptions options)
    {
        Options = options;
    }

    protected ForwarderOptions Options { get; }

    public IListenerRuntime Start(Socket listeningSocket, ListenerContext context)
    {
        var loops = EnsureLoops();
        var added = false;
        listeningSocket.SafeHandle.DangerousAddRef(ref added);
        var fd = (int)listeningSocket.SafeHandle.DangerousGetHandle();

        // Several loops accept on this fd: non-blocking, so a loop that lost the race to another gets EAGAIN, not a block.
        _ = Native.fcntl(fd, Native.F_SETFL, Native.fcntl(fd, Native.F_GETFL, 0) | Native.O_NONBLOCK);
        foreach (var loop in loops)
        {
            loop.PostAddListener(fd, context);
        }

        return new Runtime(loops, listeningSocket, context);
    }

    public async ValueTask DisposeAsync()
    {
        TLoop[]? loops;
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

        await Task.WhenAll(loops.Select(loop => loop.Stopped)).WaitAsync(StopLimit).ConfigureAwait(false);
    }

    /// <summary>Names the engine in the error of a failed start.</summary>
    protected abstract string EngineName { get; }

    protected abstract TLoop CreateLoop(int id);

    /// <summary>A counter summed over the running loops (0 before the first listener and after the engine stopped).</summary>
    protected long SumOverLoops(Func<TLoop, long> counter)
    {
        lock (_gate)
        {
            return _loops?.Sum(counter) ?? 0;
        }
    }

    private TLoop[] EnsureLoops()
    {
        lock (_gate)
        {
            if (_loops is null)
            {
                var loops = new TLoop[Math.Max(1, Options.EventLoops)];
                for (var i = 0; i < loops.Length; i++)
                {
                    loops[i] = CreateLoop(i);
                    loops[i].Start();
                }

                try
                {
                    // A loop may set up on its own thread (an io_uring ring belongs to the thread that made it).
                    if (!Task.WhenAll(loops.Select(loop => loop.Started)).Wait(StartLimit))
                    {
                        throw new AggregateException(new TimeoutException($"the loops did not set up within {StartLimit.TotalSeconds:F0} s"));
                    }
                }
                catch (AggregateException exception)
                {
                    foreach (var loop in loops)
                    {
                        loop.RequestStop();
                    }

                    throw new SocketException((int)SocketError.SocketError, $"{EngineName} loops failed to start: {exception.InnerException?.Message}");
                }

                _loops = loops;
            }

            return _loops;
        }
    }

    private sealed class Runtime(TLoop[] loops, Socket listeningSocket, ListenerContext context) : IListenerRuntime
    {
        private int _released;

        /// <summary>Completes once every loop confirmed it accepts no more on the socket, so the fd can be closed.</summary>
        public async ValueTask StopAcceptingAsync()
        {
            await Task.WhenAll(loops.Select(loop => loop.RemoveListenerAsync(context))).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                listeningSocket.SafeHandle.DangerousRelease();
            }
        }

        public async ValueTask CloseConnectionsAsync() =>
            await Task.WhenAll(loops.Select(loop => loop.CloseConnectionsAsync(context))).ConfigureAwait(false);
    }
}
