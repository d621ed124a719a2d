using System.Net;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

internal enum UringPhase
{
    Connecting,
    Open,

    /// <summary>Counted as closed; its operations are being cancelled, and its fds close when the last one completed.</summary>
    Closing,
}

/// <summary>What a completion was for: the low byte of its user_data (bit 7 marks the downstream direction).</summary>
internal enum UringOp : byte
{
    Accept = 1,
    Connect = 2,
    ConnectTimeout = 3,
    Receive = 4,
    Send = 5,
    Poll = 6,
    Shutdown = 9,
    ProxyHeader = 10,

    /// <summary>An ASYNC_CANCEL: its own completion says nothing the cancelled operation's will not.</summary>
    Cancel = 11,
}

/// <summary>
/// One way of a connection. At most one operation is in flight per direction, which keeps the bytes in order without
/// sequence numbers: receive into a ring buffer, then send it; or, spliced, fill a pipe, then drain it.
/// </summary>
internal sealed class UringDirection(bool downstream)
{
    public bool Downstream { get; } = downstream;

    public int SourceFd = -1;
    public int TargetFd = -1;

    /// <summary>The ring buffer holding received bytes not yet all sent; -1 when none.</summary>
    public int BufferId = -1;

    /// <summary>A spill buffer (the ring was empty) held from its receive until its bytes are sent; null when none.</summary>
    public unsafe byte* Spill;
    public int Length;
    public int Sent;

    /// <summary>Receives in a row that filled a whole buffer: a bulk stream, which splice moves cheaper.</summary>
    public int FullReads;

    /// <summary>Bytes go socket → pipe → socket (splice(2) on the loop thread) instead of through ring buffers.</summary>
    public bool Spliced;
    public Pipe? Pipe;
    public int InPipe;

    /// <summary>A short splice read: back to buffers once the pipe is empty.</summary>
    public bool LeaveSplice;

    public bool SourceEof;

    /// <summary>EOF was passed on (the target's send side is shut down).</summary>
    public bool Finished;

    /// <summary>Bytes reached the target since the connection's last activity stamp.</summary>
    public bool Moved;

    /// <summary>Bytes moved and not yet added to the shared counters (flushed by housekeeping and at close).</summary>
    public long Unreported;
}

/// <summary>A client connection and its backend connection, owned by one io_uring loop thread.</summary>
internal sealed class UringConnection
{
    public UringConnection(ListenerContext context, ListenerRoute route, int clientFd, IPEndPoint? client, long now)
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
    public UringPhase Phase = UringPhase.Connecting;
    public bool WasOpen;

    /// <summary>Closed for a reset (SO_LINGER 0 when the fds go), else with a FIN.</summary>
    public bool ResetOnClose;
    public BackendState? Backend;
    public List<BackendState>? Tried;
    public int Attempts;
    public long ConnectDeadline;
    public bool ConnectCancelled;

    /// <summary>The backend's sockaddr, pinned while a connect may still read it.</summary>
    public GCHandle AddressPin;

    /// <summary>When the closing connection's cancels were last sent, on the real clock (the kernel's races do not follow a virtual one).</summary>
    public long CancelledAt;

    /// <summary>Operations submitted and not yet completed: the fds and the slot are released only at zero.</summary>
    public int Pending;
    public long LastActivity;

    /// <summary>The PROXY protocol header still to write (pinned, the kernel reads it); null when none or all sent.</summary>
    public byte[]? ProxyHeader;
    public int ProxyHeaderSent;

    /// <summary>Client → backend.</summary>
    public UringDirection Upstream { get; } = new(downstream: false);

    /// <summary>Backend → client.</summary>
    public UringDirection Downstream { get; } = new(downstream: true);

    public UringDirection Other(UringDirection direction) => direction.Downstream ? Upstream : Downstream;
}
