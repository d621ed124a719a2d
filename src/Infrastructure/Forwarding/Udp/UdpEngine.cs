using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>Forwards the datagrams of UDP listeners: one <see cref="UdpListenerLoop"/> (a thread and an epoll set) per listener.</summary>
internal sealed class UdpEngine(TimeProvider time, ILogger logger) : IForwardingEngine
{
    private readonly ForwarderClock _clock = new(time);

    /// <param name="listeningSocket">A bound datagram socket (<see cref="UdpSockets.Bind"/>); it stays the caller's.</param>
    public IListenerRuntime Start(Socket listeningSocket, ListenerContext context)
    {
        var loop = new UdpListenerLoop(listeningSocket, context, _clock, time, logger);
        loop.Start();
        return loop;
    }

    /// <summary>Each loop belongs to its listener, which stops it.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
