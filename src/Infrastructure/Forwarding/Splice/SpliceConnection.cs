using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>One way of a connection: source socket → pipe → target socket.</summary>
internal sealed class SpliceDirection : LoopDirection
{
    /// <summary>Edge-triggered epoll reports a socket once; this remembers it may still hold bytes.</summary>
    public bool SourceReadable;

    /// <summary>epoll reported the source's peer shut down or failed: read on until the read says so.</summary>
    public bool SourceHungUp;
    public bool TargetWritable = true;
}

/// <summary>A client connection and its backend connection, owned by one event loop thread.</summary>
internal sealed class SpliceConnection(ListenerContext context, ListenerRoute route, int clientFd, IPEndPoint? client, long now)
    : LoopConnection(context, route, clientFd, client, now)
{
    /// <summary>Client → backend.</summary>
    public override SpliceDirection Upstream { get; } = new();

    /// <summary>Backend → client.</summary>
    public override SpliceDirection Downstream { get; } = new();
}
