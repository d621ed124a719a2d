using System.Net;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

internal enum ConnectionPhase
{
    Connecting,
    Open,

    /// <summary>
    /// Counted as closed. The splice engine has closed its fds too; the io_uring engine closes them when the last of its
    /// cancelled operations completed.
    /// </summary>
    Closed,
}

/// <summary>One way of a connection, as both loop engines keep it.</summary>
internal abstract class LoopDirection
{
    public int SourceFd = -1;
    public int TargetFd = -1;
    public Pipe? Pipe;
    public int InPipe;
    public bool SourceEof;

    /// <summary>EOF was passed on (the target's send side is shut down).</summary>
    public bool Finished;

    /// <summary>Bytes reached the target since the connection's last activity stamp.</summary>
    public bool Moved;

    /// <summary>Bytes moved and not yet added to the shared counters (flushed by housekeeping and at close).</summary>
    public long Unreported;

    /// <summary>An empty pipe goes back to <paramref name="pool"/>; one still holding bytes is closed, never handed to another connection.</summary>
    public void ReleasePipe(PipePool? pool)
    {
        if (Pipe is not { } pipe)
        {
            return;
        }

        if (InPipe == 0 && pool is not null)
        {
            pool.Return(pipe);
        }
        else
        {
            PipePool.Close(pipe);
        }

        Pipe = null;
        InPipe = 0;
    }
}

/// <summary>A client connection and its backend connection, owned by one loop thread.</summary>
internal abstract class LoopConnection(ListenerContext context, ListenerRoute route, int clientFd, IPEndPoint? client, long now)
{
    public ListenerContext Context { get; } = context;

    /// <summary>The route at accept time: retries pick from the set this connection started with.</summary>
    public ListenerRoute Route { get; } = route;

    public int ClientFd { get; } = clientFd;

    public IPEndPoint? Client { get; } = client;

    public int BackendFd = -1;
    public int Slot;
    public ConnectionPhase Phase = ConnectionPhase.Connecting;

    /// <summary>The backend of the current attempt (or the connected one); null when none.</summary>
    public BackendState? Backend;

    /// <summary>Backends that failed this connection's earlier attempts: a retry picks another.</summary>
    public List<BackendState>? Tried;
    public int Attempts;
    public long ConnectDeadline;
    public long LastActivity = now;

    /// <summary>The PROXY protocol header still to write to the backend before any client byte; null when none (or all sent).</summary>
    public byte[]? ProxyHeader;
    public int ProxyHeaderSent;

    /// <summary>Client → backend.</summary>
    public abstract LoopDirection Upstream { get; }

    /// <summary>Backend → client.</summary>
    public abstract LoopDirection Downstream { get; }

    /// <summary>Picks the backend of the next attempt; false when the attempts are used up or no untried backend is left.</summary>
    public bool TryBeginAttempt(int maxAttempts)
    {
        if (Attempts >= Math.Max(1, maxAttempts))
        {
            return false;
        }

        var tried = Tried is null ? [] : CollectionsMarshal.AsSpan(Tried);
        var backend = ListenerContext.PickBackend(Route, Client, tried);
        if (backend is null)
        {
            return false;
        }

        Attempts++;
        Backend = backend;
        return true;
    }

    /// <summary>The attempt's backend refused or timed out: it is marked, and the next attempt picks another.</summary>
    public void RecordConnectFailure(string reason)
    {
        var backend = Backend!;
        Context.ConnectFailed(backend, reason);
        (Tried ??= []).Add(backend);
        Backend = null;
    }

    /// <summary>No attempt connected: counted, and the connection is to be closed with a reset.</summary>
    public void GiveUpConnecting()
    {
        Context.NoBackendConnected(Attempts);
        Backend = null;
    }

    public void FlushCounters()
    {
        if (Upstream.Unreported != 0)
        {
            Context.Counters.AddFromClient(Upstream.Unreported);
            Backend?.Counters.AddFromClient(Upstream.Unreported);
            Upstream.Unreported = 0;
        }

        if (Downstream.Unreported != 0)
        {
            Context.Counters.AddFromBackend(Downstream.Unreported);
            Backend?.Counters.AddFromBackend(Downstream.Unreported);
            Downstream.Unreported = 0;
        }
    }
}
