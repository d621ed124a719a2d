using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

internal sealed unsafe partial class UringLoop
{
    private const int ENOBUFS = Native.ENOBUFS;
    private const int ShutRead = 0;

    /// <summary>How long after the linked timeout should have fired the housekeeping scan cancels a connect itself.</summary>
    private const long ConnectBackstopMilliseconds = 1000;

    /// <summary>How long a closing connection's cancels may take before housekeeping sends them again.</summary>
    private const long CancelRetryMilliseconds = 100;

    private void StartConnect(UringConnection connection)
    {
        if (connection.TryBeginAttempt(_options.MaxConnectAttempts))
        {
            if (_socketsInRing)
            {
                OpenSocketInRing(connection);
                return;
            }

            var backend = connection.Backend!;
            var opened = BackendSocket.TryOpen(connection, out var fd);
            if (opened == BackendSocketOutcome.OutOfDescriptors)
            {
                Close(connection, reset: true);
                return;
            }

            if (opened == BackendSocketOutcome.Opened)
            {
                Connect(connection, backend, fd);
                return;
            }
        }

        connection.GiveUpConnecting();
        Close(connection, reset: true);
    }

    /// <summary>
    /// The attempt's socket comes from an IORING_OP_SOCKET in this turn's submission; the connect follows its completion
    /// (a linked connect would need the fd at submission, which only a fixed-file slot gives).
    /// </summary>
    private void OpenSocketInRing(UringConnection connection)
    {
        var sqe = Submit(connection.Slot, UringOp.Socket, IORING_OP_SOCKET, connection.Backend!.NativeAddressFamily);
        sqe->Offset = BackendSocket.Type;
        connection.Pending++;

        // Not connecting yet: the housekeeping scan has no connect to time out until the socket is there.
        connection.ConnectDeadline = long.MaxValue;
    }

    private void OnSocketOpened(UringConnection connection, int result)
    {
        if (result < 0)
        {
            if (BackendSocket.Failed(connection, -result) == BackendSocketOutcome.Failed)
            {
                connection.GiveUpConnecting();
            }

            Close(connection, reset: true);
            return;
        }

        Interlocked.Increment(ref _ringSockets);
        Native.SetNoDelay(result);
        Connect(connection, connection.Backend!, result);
    }

    /// <summary>Submits the connect of the attempt's socket, linked to its timeout on the real clock.</summary>
    private void Connect(UringConnection connection, BackendState backend, int fd)
    {
        connection.BackendFd = fd;
        // On the real clock the linked timeout ends the connect; the scan's deadline is then only a backstop, a second later.
        connection.ConnectDeadline = _now + (long)_options.ConnectTimeout.TotalMilliseconds + (_virtualClock ? 0 : ConnectBackstopMilliseconds);
        connection.ConnectCancelled = false;
        connection.AddressPin = GCHandle.Alloc(backend.NativeAddress, GCHandleType.Pinned);
        var sqe = Submit(connection.Slot, UringOp.Connect, IORING_OP_CONNECT, fd);
        sqe->Address = (ulong)connection.AddressPin.AddrOfPinnedObject();
        sqe->Offset = (ulong)backend.NativeAddress.Length;
        connection.Pending++;
        if (!_virtualClock)
        {
            // On the real clock the kernel times the connect out itself; a virtual clock is followed by housekeeping.
            sqe->Flags = IOSQE_IO_LINK;
            var timeout = Submit(connection.Slot, UringOp.ConnectTimeout, IORING_OP_LINK_TIMEOUT, -1);
            timeout->Address = (ulong)_connectTimeout;
            timeout->Length = 1;
            connection.Pending++;
        }
    }

    private void OnCompletion(UringConnection connection, UringOp op, bool downstream, in Cqe cqe)
    {
        connection.Pending--;
        var direction = downstream ? connection.Downstream : connection.Upstream;
        if (connection.Phase == ConnectionPhase.Closed)
        {
            if ((cqe.Flags & IORING_CQE_F_BUFFER) != 0)
            {
                _buffers!.Taken();
                _buffers.Return((ushort)(cqe.Flags >> IORING_CQE_BUFFER_SHIFT));
            }

            if (op == UringOp.Connect)
            {
                UnpinAddress(connection);
            }
            else if (op == UringOp.Socket && cqe.Result >= 0)
            {
                // The socket came after the connection closed: nothing will connect it.
                _ = Libc.close(cqe.Result);
            }

            if (connection.Pending == 0)
            {
                Finish(connection);
            }

            return;
        }

        switch (op)
        {
            case UringOp.Socket:
                OnSocketOpened(connection, cqe.Result);
                break;
            case UringOp.Connect:
                OnConnect(connection, cqe.Result);
                break;
            case UringOp.ConnectTimeout:
                // -ETIME: it fired and the connect completes with -ECANCELED; -ECANCELED: the connect finished first.
                break;
            case UringOp.ProxyHeader:
                OnProxyHeaderSent(connection, cqe.Result);
                break;
            case UringOp.Receive:
                OnReceive(connection, direction, cqe);
                break;
            case UringOp.Send:
                OnSend(connection, direction, cqe.Result);
                break;
            case UringOp.Poll:
                OnPoll(connection, direction, cqe.Result);
                break;
            case UringOp.Shutdown:
                OnShutdown(connection, direction);
                break;
        }

        if (connection.Upstream.Moved | connection.Downstream.Moved)
        {
            connection.LastActivity = _activityNow;
            connection.Upstream.Moved = connection.Downstream.Moved = false;
        }
    }

    private void OnConnect(UringConnection connection, int result)
    {
        UnpinAddress(connection);
        if (result == 0)
        {
            OnConnected(connection);
            return;
        }

        if (result == -ECANCELED && !connection.ConnectCancelled)
        {
            // Not cancelled by the scan: the kernel's linked timeout ended it.
            Interlocked.Increment(ref _linkedTimeouts);
        }

        var reason = result == -ECANCELED ? "connect timed out" : new System.Net.Sockets.SocketException(-result).Message;
        _ = Libc.close(connection.BackendFd);
        connection.BackendFd = -1;
        connection.RecordConnectFailure(reason);
        StartConnect(connection);
    }

    private static void UnpinAddress(UringConnection connection)
    {
        if (connection.AddressPin.IsAllocated)
        {
            connection.AddressPin.Free();
        }
    }

    private void OnConnected(UringConnection connection)
    {
        connection.Phase = ConnectionPhase.Open;
        ListenerContext.ConnectSucceeded(connection.Backend!);
        connection.Upstream.SourceFd = connection.ClientFd;
        connection.Upstream.TargetFd = connection.BackendFd;
        connection.Downstream.SourceFd = connection.BackendFd;
        connection.Downstream.TargetFd = connection.ClientFd;
        connection.LastActivity = _activityNow;
        StartReceive(connection, connection.Downstream);
        if (connection.ProxyHeader is not null)
        {
            // The header goes before any byte of the client's: the upstream receive starts once it is sent.
            SendProxyHeader(connection);
        }
        else
        {
            StartReceive(connection, connection.Upstream);
        }
    }

    private void CloseSocket(int fd, bool reset, bool inRing)
    {
        if (!inRing)
        {
            Native.CloseSocket(fd, reset);
            return;
        }

        if (reset)
        {
            // SO_LINGER 0 before the close: the peer gets a reset, not a FIN.
            Native.SetLingerZero(fd);
        }

        var sqe = _ring!.NextSqe();
        sqe->Opcode = IORING_OP_CLOSE;
        sqe->Fd = fd;
        sqe->UserData = (byte)UringOp.Close;
        _inFlight++;
    }

    private void SendProxyHeader(UringConnection connection)
    {
        var header = connection.ProxyHeader!;
        var sqe = Submit(connection.Slot, UringOp.ProxyHeader, IORING_OP_SEND, connection.BackendFd);
        sqe->Address = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(header, connection.ProxyHeaderSent);
        sqe->Length = (uint)(header.Length - connection.ProxyHeaderSent);
        sqe->OpFlags = Native.MSG_NOSIGNAL;
        connection.Pending++;
    }

    private void OnProxyHeaderSent(UringConnection connection, int result)
    {
        if (result < 0 && result != -Native.EAGAIN && result != -Native.EINTR)
        {
            Close(connection, reset: true);
            return;
        }

        connection.ProxyHeaderSent += Math.Max(0, result);
        if (connection.ProxyHeaderSent < connection.ProxyHeader!.Length)
        {
            SendProxyHeader(connection);
            return;
        }

        connection.ProxyHeader = null;
        StartReceive(connection, connection.Upstream);
    }

    private void StartReceive(UringConnection connection, UringDirection direction)
    {
        var sqe = Submit(connection.Slot, UringOp.Receive, IORING_OP_RECV, direction.SourceFd, direction.Downstream);
        sqe->Length = BufferSize;
        if (direction.Spill is not null)
        {
            // The ring was empty last time: this receive goes into the spill buffer the direction holds.
            sqe->Address = (ulong)direction.Spill;
        }
        else
        {
            sqe->Flags = IOSQE_BUFFER_SELECT;
            sqe->BufferGroup = BufferGroup;
        }

        connection.Pending++;
    }

    private void OnReceive(UringConnection connection, UringDirection direction, in Cqe cqe)
    {
        var result = cqe.Result;
        if (result > 0)
        {
            if ((cqe.Flags & IORING_CQE_F_BUFFER) != 0)
            {
                _buffers!.Taken();
                direction.BufferId = (ushort)(cqe.Flags >> IORING_CQE_BUFFER_SHIFT);
            }

            direction.Length = result;
            direction.Sent = 0;
            direction.Unreported += result;
            direction.FullReads = result == BufferSize ? direction.FullReads + 1 : 0;
            StartSend(connection, direction);
            return;
        }

        switch (-result)
        {
            case 0:
                OnSourceEof(connection, direction);
                break;
            case ENOBUFS:
                // Every ring buffer holds bytes on their way: this receive takes a spill buffer rather than wait for
                // one, which could wait forever (the holders may wait for a peer that waits for this direction).
                direction.Spill = _spill!.Rent();
                Interlocked.Increment(ref _spillReceives);
                StartReceive(connection, direction);
                break;
            case Native.EAGAIN:
            case Native.EINTR:
                StartReceive(connection, direction);
                break;
            default:
                // A reset on either side is passed on as a reset to the other.
                Close(connection, reset: true);
                break;
        }
    }

    private void StartSend(UringConnection connection, UringDirection direction)
    {
        var sqe = Submit(connection.Slot, UringOp.Send, IORING_OP_SEND, direction.TargetFd, direction.Downstream);
        var buffer = direction.Spill is not null ? direction.Spill : _buffers!.Address((ushort)direction.BufferId);
        sqe->Address = (ulong)(buffer + direction.Sent);
        sqe->Length = (uint)(direction.Length - direction.Sent);
        sqe->OpFlags = Native.MSG_NOSIGNAL;
        connection.Pending++;
    }

    private void OnSend(UringConnection connection, UringDirection direction, int result)
    {
        if (result < 0 && result != -Native.EAGAIN && result != -Native.EINTR)
        {
            Close(connection, reset: true);
            return;
        }

        if (result > 0)
        {
            direction.Sent += result;
            direction.Moved = true;
        }

        if (direction.Sent < direction.Length)
        {
            // A short send: the rest of the same buffer, so the bytes stay in order.
            StartSend(connection, direction);
            return;
        }

        ReleaseBuffer(direction);
        if (direction.FullReads >= SpliceAfterFullReads && TryEnterSplice(connection, direction))
        {
            return;
        }

        StartReceive(connection, direction);
    }

    /// <summary>The direction's bytes were sent (or its connection is gone): its ring or spill buffer is given back.</summary>
    private void ReleaseBuffer(UringDirection direction)
    {
        if (direction.BufferId >= 0)
        {
            _buffers!.Return((ushort)direction.BufferId);
            direction.BufferId = -1;
        }

        if (direction.Spill is not null)
        {
            _spill!.Return(direction.Spill);
            direction.Spill = null;
        }
    }

    /// <summary>
    /// The source sent its FIN: it is passed on as a shutdown of the target's send side, and the other way goes on.
    /// When the other way is done too, both sockets are closed, which sends the FIN anyway.
    /// </summary>
    private void OnSourceEof(UringConnection connection, UringDirection direction)
    {
        direction.SourceEof = true;
        if (connection.Other(direction).Finished)
        {
            direction.Finished = true;
            Close(connection, reset: false);
            return;
        }

        var sqe = Submit(connection.Slot, UringOp.Shutdown, IORING_OP_SHUTDOWN, direction.TargetFd, direction.Downstream);
        sqe->Length = Native.SHUT_WR;
        connection.Pending++;
    }

    private void OnShutdown(UringConnection connection, UringDirection direction)
    {
        direction.Finished = true;
        if (connection.Other(direction).Finished)
        {
            Close(connection, reset: false);
        }
    }

    /// <summary>
    /// Ends the connection. It is counted as closed at once (as the splice engine does); its operations are cancelled and
    /// its fds are closed when the last completion came, so no completion finds a reused fd or a freed slot.
    /// </summary>
    private void Close(UringConnection connection, bool reset)
    {
        if (connection.Phase == ConnectionPhase.Closed)
        {
            return;
        }

        var wasOpen = connection.Phase == ConnectionPhase.Open;
        Account(connection);
        connection.Phase = ConnectionPhase.Closed;
        connection.ResetOnClose = reset;
        if (connection.Pending == 0)
        {
            Finish(connection);
            return;
        }

        // Shutting the receive side wakes every receive and read poll at once (they complete with 0) and sends nothing:
        // a cancel can miss an operation that is between its wake-up and its retry, and would then wait for data forever.
        // Not a connecting backend socket: shutdown would abort its handshake, which the cancel does anyway.
        _ = Native.shutdown(connection.ClientFd, ShutRead);
        if (wasOpen)
        {
            _ = Native.shutdown(connection.BackendFd, ShutRead);
        }

        CancelOperations(connection);
    }

    /// <summary>Cancels every operation of a closing connection; housekeeping repeats it until the last one completed.</summary>
    private void CancelOperations(UringConnection connection)
    {
        connection.CancelledAt = Environment.TickCount64;
        CancelFd(connection.ClientFd);
        if (connection.BackendFd >= 0)
        {
            CancelFd(connection.BackendFd);
        }

        foreach (var direction in (ReadOnlySpan<UringDirection>)[connection.Upstream, connection.Downstream])
        {
            if (direction.Pipe is { } pipe)
            {
                // A splice into a pipe is keyed by the pipe, not the socket.
                CancelFd(pipe.WriteFd);
            }
        }
    }

    /// <summary>The connection's counters and slots in the listener's and backend's books: once, when it is closed.</summary>
    private static void Account(UringConnection connection)
    {
        connection.FlushCounters();
        connection.Context.ConnectionClosed();
        if (connection.Phase == ConnectionPhase.Open)
        {
            connection.WasOpen = true;
            connection.Backend?.Counters.ConnectionClosed();
        }
    }

    private void Finish(UringConnection connection)
    {
        CloseDescriptors(connection, connection.ResetOnClose, inRing: true);
        _slots.Release(connection.Slot);
    }

    /// <param name="inRing">
    /// Close the sockets with IORING_OP_CLOSE, submitted with the turn's other SQEs instead of a close(2) each. Only once
    /// every operation on them completed (so no completion can meet the fd number reused), and not when the ring is
    /// about to go.
    /// </param>
    private void CloseDescriptors(UringConnection connection, bool reset, bool inRing)
    {
        CloseSocket(connection.ClientFd, reset, inRing);
        if (connection.BackendFd >= 0)
        {
            CloseSocket(connection.BackendFd, reset, inRing);
            connection.BackendFd = -1;
        }

        foreach (var direction in (ReadOnlySpan<UringDirection>)[connection.Upstream, connection.Downstream])
        {
            if (_buffers is not null)
            {
                ReleaseBuffer(direction);
            }

            direction.ReleasePipe(_pipes);
        }

        UnpinAddress(connection);
    }
}
