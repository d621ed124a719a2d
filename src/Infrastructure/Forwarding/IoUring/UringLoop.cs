using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// One thread with its own io_uring, as the splice engine runs one epoll loop per core: it accepts, connects and moves
/// the bytes of the connections it accepted, so no fd or buffer is touched by two threads. Each turn is one
/// io_uring_enter that submits what the last turn queued and sleeps until a completion (or the housekeeping tick).
/// Other threads talk to it only through its mailbox, whose eventfd wakes it through a read kept armed in the ring.
/// </summary>
internal sealed unsafe partial class UringLoop : LoopThread<UringLoop>
{
    /// <summary>Receive buffers of 16 KiB: a small message fits one, and a full one is the sign of a bulk stream.</summary>
    internal const int BufferSize = 16 * 1024;
    /// <summary>
    /// 1 MiB of ring buffers per loop: the kernel cycles through all of them, so all become resident (ADR 0009 counts
    /// every MiB). A buffer is held only from a receive to the end of its send; more at once than this spill (SpillBuffers).
    /// </summary>
    internal const int DefaultBufferCount = 64;
    private const ushort BufferGroup = 1;
    private const uint RingEntries = 4096;
    private const ulong WakeToken = ulong.MaxValue;
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly int _id;
    private readonly ForwarderOptions _options;
    private readonly ForwarderClock _clock;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HousekeepingTick _tick;
    private readonly byte[] _addressBuffer = new byte[128];
    private readonly bool _virtualClock;
    private readonly int _bufferCount;
    private readonly bool _socketsInRingAllowed;

    /// <summary>Backend sockets come from IORING_OP_SOCKET (allowed and probed at setup), else from socket(2).</summary>
    private bool _socketsInRing;
    private long _ringSockets;
    private Ring? _ring;
    private BufferRing? _buffers;
    private PipePool? _pipes;
    private SpillBuffers? _spill;
    private ulong* _wakeValue;
    private KernelTimespec* _connectTimeout;
    private readonly LoopSlots _slots = new();
    private bool _stopIssued;
    private bool _wakeArmed;

    /// <summary>Operations in the ring that will complete (cancels excluded): the loop ends only when none is left.</summary>
    private int _inFlight;
    private long _now;

    /// <summary>
    /// The clock as read before the last wait: every completion reaped in this turn moved its bytes after it (submission
    /// and COOP task work run inside the wait's io_uring_enter), so activity is stamped with it. Stamped with <see cref="_now"/>,
    /// an echo whose completion is reaped just after a test moved the clock would look fresh and never go idle.
    /// </summary>
    private long _activityNow;
    private long _spliceSwitches;
    private long _spillReceives;
    private long _linkedTimeouts;

    /// <param name="bufferCount">Ring buffers of this loop, a power of two; tests make it tiny to run the ring dry.</param>
    public UringLoop(int id, ForwarderOptions options, ForwarderClock clock, Microsoft.Extensions.Logging.ILogger logger,
        int bufferCount = DefaultBufferCount, bool socketsInRing = true)
        : base($"uring-loop-{id}")
    {
        ArgumentNullException.ThrowIfNull(clock);
        _id = id;
        _options = options;
        _clock = clock;
        _logger = logger;
        _bufferCount = bufferCount;
        _socketsInRingAllowed = socketsInRing;
        _tick = new HousekeepingTick(options, clock);

        // On a virtual clock the connect's linked timeout is left out: housekeeping follows that clock instead.
        _virtualClock = _tick.IsVirtualClock;
    }

    /// <summary>Completes once the ring is set up on the loop's thread, or fails with why it could not be.</summary>
    public override Task Started => _started.Task;

    /// <summary>Directions that went from ring buffers to splice (a bulk stream); read by tests and the ADR's measurements.</summary>
    public long SpliceSwitches => Interlocked.Read(ref _spliceSwitches);

    /// <summary>Receives that found the buffer ring empty and went into a spill buffer.</summary>
    public long SpillReceives => Interlocked.Read(ref _spillReceives);

    /// <summary>Backend sockets opened with IORING_OP_SOCKET.</summary>
    public long RingSockets => Interlocked.Read(ref _ringSockets);

    /// <summary>Connects ended by their linked IORING_OP_LINK_TIMEOUT (not by the housekeeping backstop).</summary>
    public long LinkedTimeouts => Interlocked.Read(ref _linkedTimeouts);

    protected override void Run()
    {
        var clean = false;
        try
        {
            SetUp();
        }
        catch (Exception exception)
        {
            Mailbox.Close();
            TearDown(clean: true);
            _started.TrySetException(exception);
            return;
        }

        _started.TrySetResult();
        try
        {
            // Commands posted before the eventfd read was armed run now (their wake-up completes the first read at once).
            Mailbox.RunPending();
            _now = _activityNow = _clock.NowMilliseconds;
            _tick.Start(_now);
            long stopDeadline = 0;
            while (true)
            {
                if (Stopping && !_stopIssued)
                {
                    _stopIssued = true;
                    stopDeadline = Environment.TickCount64 + (long)StopGrace.TotalMilliseconds;
                    CancelEverything();
                }

                if (_stopIssued && (_inFlight == 0 || Environment.TickCount64 > stopDeadline))
                {
                    clean = _inFlight == 0;
                    break;
                }

                _ring!.SubmitAndWait(_tick.WaitMilliseconds);
                _activityNow = _now;
                _now = _clock.NowMilliseconds;
                while (_ring.TryTakeCompletion(out var cqe))
                {
                    Dispatch(cqe);
                }

                _slots.FreeClosed();
                if (_tick.Due(_now))
                {
                    Housekeeping();
                }
            }
        }
        catch (Exception exception)
        {
            ForwardingLog.EventLoopFailed(_logger, exception, _id);
        }
        finally
        {
            Mailbox.Close();
            if (!clean)
            {
                ForceCloseConnections();
            }

            TearDown(clean);
            Mailbox.RunPending();
        }
    }

    /// <summary>On the loop's thread: a SINGLE_ISSUER ring belongs to the thread that created it.</summary>
    private void SetUp()
    {
        _wakeValue = (ulong*)NativeMemory.AllocZeroed((nuint)(sizeof(ulong) + sizeof(KernelTimespec)));
        _connectTimeout = (KernelTimespec*)(_wakeValue + 1);
        var timeout = (long)_options.ConnectTimeout.TotalMilliseconds;
        _connectTimeout->Seconds = timeout / 1000;
        _connectTimeout->Nanoseconds = timeout % 1000 * 1_000_000;
        _ring = Ring.Create(RingEntries, out var refused);
        if (refused is not null)
        {
            ForwardingLog.IoUringFlagsRefused(_logger, _id, refused);
        }

        _buffers = new BufferRing(_ring, BufferGroup, _bufferCount, BufferSize);
        _socketsInRing = _socketsInRingAllowed && IoUringSupport.Supports(_ring, IORING_OP_SOCKET);
        _pipes = new PipePool(_options.PipeSize, maxIdle: 32);
        _spill = new SpillBuffers(BufferSize, maxIdle: 64);
        ArmWake();
    }

    /// <param name="clean">Nothing is in flight: the kernel writes no more into the buffers, so they can be freed.</param>
    private void TearDown(bool clean)
    {
        _pipes?.Dispose();

        // Closes queued by the last turn's finished connections go in before the ring does, or their fds would stay open.
        try
        {
            _ring?.Flush();
        }
        catch (SocketException exception)
        {
            // The ring itself failed (what ended the loop, most likely): nothing more to do for those fds here.
            ForwardingLog.EventLoopFailed(_logger, exception, _id);
        }

        if (!clean)
        {
            CloseUnclaimedSockets();
        }

        if (clean)
        {
            _buffers?.Dispose();
            _spill?.Dispose();
        }

        // Closing the ring cancels whatever is left in it (the wake read too: the mailbox closed its eventfd already).
        _ring?.Dispose();

        if (clean && _wakeValue is not null)
        {
            NativeMemory.Free(_wakeValue);
            _wakeValue = null;
        }
    }

    /// <summary>The loop ends with operations in flight: a backend socket the kernel opened and nobody reaped is closed here.</summary>
    private void CloseUnclaimedSockets()
    {
        if (_ring is null)
        {
            return;
        }

        while (_ring.TryTakeCompletion(out var cqe))
        {
            if (cqe.UserData != WakeToken && (UringOp)(cqe.UserData & 0x7f) == UringOp.Socket && cqe.Result >= 0)
            {
                _ = Libc.close(cqe.Result);
            }
        }
    }

    private void ArmWake()
    {
        var sqe = _ring!.NextSqe();
        sqe->Opcode = IORING_OP_READ;
        sqe->Fd = Mailbox.WakeFd;
        sqe->Address = (ulong)_wakeValue;
        sqe->Length = sizeof(ulong);
        sqe->Offset = ulong.MaxValue;
        sqe->UserData = WakeToken;
        _inFlight++;
        _wakeArmed = true;
    }

    private void Dispatch(in Cqe cqe)
    {
        var kind = (UringOp)(cqe.UserData & 0x7f);
        if (cqe.UserData == WakeToken)
        {
            _inFlight--;
            _wakeArmed = false;
            Mailbox.RunPending();
            if (!Stopping)
            {
                ArmWake();
            }

            return;
        }

        if (kind == UringOp.Cancel)
        {
            return;
        }

        if ((cqe.Flags & IORING_CQE_F_MORE) == 0)
        {
            _inFlight--;
        }

        if (kind == UringOp.Close)
        {
            // The fd is gone whatever the result says (the kernel takes it out of the table first).
            return;
        }

        var target = _slots[(int)(cqe.UserData >> 8)];
        if (target is UringListener listener)
        {
            OnAccept(listener, cqe);
        }
        else if (target is UringConnection connection)
        {
            try
            {
                OnCompletion(connection, kind, (cqe.UserData & 0x80) != 0, cqe);
            }
            catch (Exception exception)
            {
                ForwardingLog.ConnectionFailed(_logger, exception, connection.Context.Name);
                Close(connection, reset: true);
            }
        }
        else if ((cqe.Flags & IORING_CQE_F_BUFFER) != 0)
        {
            // Cannot happen (a slot is freed only when nothing of its owner is in flight); a buffer is never lost anyway.
            _buffers!.Taken();
            _buffers.Return((ushort)(cqe.Flags >> IORING_CQE_BUFFER_SHIFT));
        }
    }

    private static ulong UserData(int slot, UringOp op, bool downstream = false) =>
        ((ulong)slot << 8) | (byte)op | (downstream ? 0x80UL : 0UL);

    private Sqe* Submit(int slot, UringOp op, byte opcode, int fd, bool downstream = false)
    {
        var sqe = _ring!.NextSqe();
        sqe->Opcode = opcode;
        sqe->Fd = fd;
        sqe->UserData = UserData(slot, op, downstream);
        _inFlight++;
        return sqe;
    }

    /// <summary>Cancels every operation on <paramref name="fd"/>; their completions (-ECANCELED) follow.</summary>
    private void CancelFd(int fd)
    {
        var sqe = _ring!.NextSqe();
        sqe->Opcode = IORING_OP_ASYNC_CANCEL;
        sqe->Fd = fd;
        sqe->OpFlags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
        sqe->UserData = (byte)UringOp.Cancel;
    }

    private void CancelUserData(ulong userData)
    {
        var sqe = _ring!.NextSqe();
        sqe->Opcode = IORING_OP_ASYNC_CANCEL;
        sqe->Fd = -1;
        sqe->Address = userData;
        sqe->UserData = (byte)UringOp.Cancel;
    }

    private void Housekeeping()
    {
        var idleLimit = (long)_options.IdleTimeout.TotalMilliseconds;
        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            switch (_slots[slot])
            {
                case UringConnection { Phase: ConnectionPhase.Connecting, ConnectCancelled: false } connecting when _now >= connecting.ConnectDeadline:
                    // The linked timeout ends a connect on the real clock; this one follows a virtual clock (and backs it up).
                    connecting.ConnectCancelled = true;
                    CancelUserData(UserData(slot, UringOp.Connect));
                    break;
                case UringConnection { Phase: ConnectionPhase.Open } open:
                    open.FlushCounters();
                    if (_now - open.LastActivity >= idleLimit)
                    {
                        Close(open, reset: false);
                    }

                    break;
                case UringConnection { Phase: ConnectionPhase.Closed } closing
                    when Environment.TickCount64 - closing.CancelledAt >= CancelRetryMilliseconds:
                    // An operation the cancels missed (it was between a wake-up and its retry): asked again until it completes.
                    CancelOperations(closing);
                    break;
                case UringListener { Paused: true, Armed: false, Removal: null } paused when _now >= paused.ResumeAt:
                    paused.Paused = false;
                    ArmAccept(paused);
                    break;
            }
        }

        _slots.FreeClosed();
    }

    /// <summary>The loop is stopping: no more accepts, every connection closed (its operations cancelled), the wake read cancelled.</summary>
    private void CancelEverything()
    {
        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            switch (_slots[slot])
            {
                case UringConnection connection:
                    Close(connection, reset: false);
                    break;
                case UringListener listener:
                    StopListener(listener, done: null);
                    break;
            }
        }

        if (_wakeArmed)
        {
            CancelUserData(WakeToken);
        }

        _slots.FreeClosed();
    }

    /// <summary>The loop failed or its operations did not finish in time: the fds go now, the ring's closing cancels the rest.</summary>
    private void ForceCloseConnections()
    {
        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            if (_slots[slot] is UringConnection connection)
            {
                if (connection.Phase != ConnectionPhase.Closed)
                {
                    Account(connection);
                }

                CloseDescriptors(connection, connection.Phase == ConnectionPhase.Closed ? connection.ResetOnClose : false, inRing: false);
                _slots[slot] = null;
            }
            else if (_slots[slot] is UringListener listener)
            {
                listener.Removal?.TrySetResult();
                _slots[slot] = null;
            }
        }
    }
}
