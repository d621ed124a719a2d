using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

internal enum SplicePhase
{
    Connecting,
    Open,
    Closed,
}

/// <summary>One way of a connection: source socket → pipe → target socket.</summary>
internal sealed class SpliceDirection
{
    public int SourceFd = -1;
    public int TargetFd = -1;
    public Pipe? Pipe;
    public int InPipe;

    /// <summary>Edge-triggered epoll reports a socket once; this remembers it may still hold bytes.</summary>
    public bool SourceReadable;
    public bool SourceEof;

    /// <summary>epoll reported the source's peer shut down or failed: read on until the read says so.</summary>
    public bool SourceHungUp;
    public bool TargetWritable = true;

    /// <summary>Bytes reached the target since the connection's last activity stamp.</summary>
    public bool Moved;

    /// <summary>EOF was passed on (the target's send side is shut down).</summary>
    public bool Finished;

    /// <summary>Bytes moved and not yet added to the shared counters (flushed by housekeeping and at close).</summary>
    public long Unreported;
}

/// <summary>A client connection and its backend connection, owned by one event loop thread.</summary>
internal sealed class SpliceConnection
{
    public SpliceConnection(ListenerContext context, ListenerRoute route, int clientFd, IPEndPoint? client, long now)
    {
        Context = context;
        Route = route;
        ClientFd = clientFd;
        Client = client;
        LastActivity = now;
    }

    public ListenerContext Context { get; }

    /// <summary>The route at accept time: retries pick from the set this connection started with.</summary>
    public ListenerRoute Route { get; }

    public int ClientFd { get; }

    public IPEndPoint? Client { get; }

    public int BackendFd = -1;
    public int Slot;
    public SplicePhase Phase = SplicePhase.Connecting;
    public BackendState? Backend;
    public List<BackendState>? Tried;
    public int Attempts;
    public long ConnectDeadline;
    public long LastActivity;

    /// <summary>The PROXY protocol header still to write to the backend before any spliced byte; null when none (or all sent).</summary>
    public byte[]? ProxyHeader;
    public int ProxyHeaderSent;

    /// <summary>Client → backend.</summary>
    public SpliceDirection Upstream { get; } = new();

    /// <summary>Backend → client.</summary>
    public SpliceDirection Downstream { get; } = new();
}
