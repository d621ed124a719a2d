using LoadBalancer.Infrastructure.Forwarding.Listeners;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

/// <summary>What <see cref="LoopEngine{TLoop}"/> asks of one of its loops; every member may be called from any thread.</summary>
internal interface IEngineLoop
{
    /// <summary>Completes once the loop is ready to take listeners, or fails with why it could not be.</summary>
    Task Started { get; }

    Task Stopped { get; }

    void Start();

    /// <summary>The loop closes its connections, then its thread ends (<see cref="Stopped"/>).</summary>
    void RequestStop();

    /// <summary>Posts the listening socket to the loop, which accepts on it from then on.</summary>
    void PostAddListener(int fd, ListenerContext context);

    /// <summary>Completes once the loop accepts no more on the listener's socket, so that it can be closed.</summary>
    Task RemoveListenerAsync(ListenerContext context);

    /// <summary>Closes the listener's connections on the loop (the end of its drain).</summary>
    Task CloseConnectionsAsync(ListenerContext context);
}
