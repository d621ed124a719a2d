using System.Net;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

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

    /// <summary>An IORING_OP_CLOSE of a finished connection's socket: it names no slot (the slot may serve another connection by then).</summary>
    Close = 12,

    /// <summary>An IORING_OP_SOCKET for the backend attempt (kernel 5.19+).</summary>
    Socket = 13,
}

/// <summary>
/// One way of a connection. At most one operation is in flight per direction, which keeps the bytes in order without
/// sequence numbers: receive into a ring buffer, then send it; or, spliced, fill a pipe, then drain it.
/// </summary>
internal sealed class UringDirection(bool downstream) : LoopDirection
{
    public bool Downstream { get; } = downstream;

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

    /// <summary>A short splice read: back to buffers once the pipe is empty.</summary>
    public bool LeaveSplice;
}

/// <summary>A client connection and its backend connection, owned by one io_uring loop thread.</summary>
internal sealed class UringConnection(ListenerContext context, ListenerRoute route, int clientFd, IPEndPoint? client, long now)
    : LoopConnection(context, route, clientFd, client, now)
{
    /// <summary>It was open (connected to its backend) when it was closed.</summary>
    public bool WasOpen;

    /// <summary>Closed for a reset (SO_LINGER 0 when the fds go), else with a FIN.</summary>
    public bool ResetOnClose;
    public bool ConnectCancelled;

    /// <summary>The backend's sockaddr, pinned while a connect may still read it.</summary>
    public GCHandle AddressPin;

    /// <summary>When the closing connection's cancels were last sent, on the real clock (the kernel's races do not follow a virtual one).</summary>
    public long CancelledAt;

    /// <summary>Operations submitted and not yet completed: the fds and the slot are released only at zero.</summary>
    public int Pending;

    /// <summary>Client → backend.</summary>
    public override UringDirection Upstream { get; } = new(downstream: false);

    /// <summary>Backend → client.</summary>
    public override UringDirection Downstream { get; } = new(downstream: true);

    public UringDirection Other(UringDirection direction) => direction.Downstream ? Upstream : Downstream;
}
