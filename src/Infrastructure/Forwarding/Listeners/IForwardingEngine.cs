using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Forwarding.Listeners;

/// <summary>Moves the bytes of a listener's connections: splice(2) on its own epoll loops, or managed copies.</summary>
internal interface IForwardingEngine : IAsyncDisposable
{
    /// <summary>Starts accepting on a bound, listening socket. The socket stays owned by the caller.</summary>
    IListenerRuntime Start(Socket listeningSocket, ListenerContext context);
}

internal interface IListenerRuntime
{
    /// <summary>When this completes no new connection is accepted; open ones go on.</summary>
    ValueTask StopAcceptingAsync();

    /// <summary>Closes every connection still open (the end of a drain).</summary>
    ValueTask CloseConnectionsAsync();
}
