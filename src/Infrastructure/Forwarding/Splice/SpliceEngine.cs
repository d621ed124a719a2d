using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>The zero-copy engine: its event loops start with the first listener and stop with the forwarder.</summary>
internal sealed class SpliceEngine : IForwardingEngine
{
    private readonly ForwarderOptions _options;
    private readonly ForwarderClock _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private EventLoop[]? _loops;

    public SpliceEngine(ForwarderOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _clock = new ForwarderClock(time);
        _logger = logger;
    }

    public IListenerRuntime Start(Socket listeningSocket, ListenerContext context)
    {
        var loops = EnsureLoops();
        var added = false;
        listeningSocket.SafeHandle.DangerousAddRef(ref added);
        var fd = (int)listeningSocket.SafeHandle.DangerousGetHandle();

        // Several loops wait on this fd; a loop woken for a connection another took must get EAGAIN, not block.
        _ = Native.fcntl(fd, Native.F_SETFL, Native.fcntl(fd, Native.F_GETFL, 0) | Native.O_NONBLOCK);
        foreach (var loop in loops)
        {
            loop.Post(l => l.AddListener(fd, context));
        }

        return new Runtime(loops, listeningSocket, context);
    }

    public async ValueTask DisposeAsync()
    {
        EventLoop[]? loops;
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

    private EventLoop[] EnsureLoops()
    {
        lock (_gate)
        {
            if (_loops is null)
            {
                var count = Math.Max(1, _options.EventLoops);
                var loops = new EventLoop[count];
                for (var i = 0; i < count; i++)
                {
                    loops[i] = new EventLoop(i, _options, _clock, _logger);
                    loops[i].Start();
                }

                _loops = loops;
            }

            return _loops;
        }
    }

    private sealed class Runtime(EventLoop[] loops, Socket listeningSocket, ListenerContext context) : IListenerRuntime
    {
        private int _released;

        public async ValueTask StopAcceptingAsync()
        {
            await Task.WhenAll(loops.Select(loop => loop.PostAsync(l => l.RemoveListener(context)))).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                listeningSocket.SafeHandle.DangerousRelease();
            }
        }

        public async ValueTask CloseConnectionsAsync() =>
            await Task.WhenAll(loops.Select(loop => loop.PostAsync(l => l.CloseConnections(context)))).ConfigureAwait(false);
    }
}
