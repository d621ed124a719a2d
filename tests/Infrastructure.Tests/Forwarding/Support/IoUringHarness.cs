using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.IoUring;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// An io_uring engine of its own on a listening socket on 127.0.140.x, so its counters (splice switches, spills, linked
/// timeouts, ring sockets) are one test's alone.
/// </summary>
internal sealed class IoUringHarness : IAsyncDisposable
{
    private static int s_nextListener;

    private readonly Socket _socket;
    private readonly IListenerRuntime _runtime;

    private IoUringHarness(IoUringEngine engine, Socket socket, IListenerRuntime runtime, PortBinding binding)
    {
        Engine = engine;
        _socket = socket;
        _runtime = runtime;
        Binding = binding;
    }

    public IoUringEngine Engine { get; }

    public PortBinding Binding { get; }

    public static IoUringHarness Start(Domain.Endpoints.Endpoint backendEndpoint, int bufferCount = UringLoop.DefaultBufferCount,
        ForwarderOptions? options = null, bool socketsInRing = true)
    {
        options ??= new ForwarderOptions { EventLoops = 1 };
        var engine = new IoUringEngine(options, TimeProvider.System, NullLogger.Instance, bufferCount, socketsInRing);
        var n = Interlocked.Increment(ref s_nextListener);
        var ip = new IPAddress([127, 0, 140, (byte)(1 + ((n - 1) % 100))]);
        var binding = new PortBinding(ip, ServicePort.Tcp(LoopbackAddresses.FreePort(ip)));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(binding.ToIPEndPoint());
        socket.Listen(16);
        var checksOff = Application.Forwarding.HealthCheckSettings.Default with { Enabled = false };
        var backend = new BackendState(backendEndpoint, new BackendHealth(checksOff, options, TimeProvider.System));
        var route = new ListenerRoute(new BackendSnapshot([backend]), new RoundRobinPolicy(), null);
        var context = new ListenerContext(binding, $"{binding} (default/web)", route, options, TimeProvider.System, NullLogger.Instance);
        return new IoUringHarness(engine, socket, engine.Start(socket, context), binding);
    }

    public async ValueTask DisposeAsync()
    {
        await _runtime.StopAcceptingAsync();
        await _runtime.CloseConnectionsAsync();
        _socket.Dispose();
        await Engine.DisposeAsync();
    }
}
