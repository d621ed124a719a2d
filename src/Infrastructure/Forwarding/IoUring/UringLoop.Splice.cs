using LoadBalancer.Infrastructure.Forwarding.Splice;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// Splice-auto, as HAProxy does it: a direction whose receives keep filling whole buffers is a bulk stream, and moves
/// socket → pipe → socket with IORING_OP_SPLICE, so its bytes never cross into user space; a short read sends it back to
/// ring buffers, which answer small messages with fewer operations.
/// </summary>
internal sealed unsafe partial class UringLoop
{
    /// <summary>Full-buffer receives in a row that make a direction a bulk stream.</summary>
    internal const int SpliceAfterFullReads = 4;

    private const uint SpliceFlags = Native.SPLICE_F_MOVE | Native.SPLICE_F_NONBLOCK;

    /// <summary>Both sockets are non-blocking, so a splice never holds an io-wq worker: an empty source or a full target says EAGAIN, and a poll waits for it.</summary>
    private bool TryEnterSplice(UringConnection connection, UringDirection direction)
    {
        if (_pipes!.Rent() is not { } pipe)
        {
            // Out of fds for a pipe: the buffers carry on.
            direction.FullReads = 0;
            return false;
        }

        direction.Pipe = pipe;
        direction.InPipe = 0;
        direction.Spliced = true;
        direction.LeaveSplice = false;
        Interlocked.Increment(ref _spliceSwitches);
        SpliceIn(connection, direction);
        return true;
    }

    private void SpliceIn(UringConnection connection, UringDirection direction)
    {
        var pipe = direction.Pipe!.Value;
        var sqe = Submit(connection.Slot, UringOp.SpliceIn, IORING_OP_SPLICE, pipe.WriteFd, direction.Downstream);
        sqe->SpliceFdIn = direction.SourceFd;

        // -1 for both offsets: sockets and pipes have none.
        sqe->Address = ulong.MaxValue;
        sqe->Offset = ulong.MaxValue;
        sqe->Length = (uint)pipe.Capacity;
        sqe->OpFlags = SpliceFlags;
        connection.Pending++;
    }

    private void SpliceOut(UringConnection connection, UringDirection direction)
    {
        var sqe = Submit(connection.Slot, UringOp.SpliceOut, IORING_OP_SPLICE, direction.TargetFd, direction.Downstream);
        sqe->SpliceFdIn = direction.Pipe!.Value.ReadFd;
        sqe->Address = ulong.MaxValue;
        sqe->Offset = ulong.MaxValue;
        sqe->Length = (uint)direction.InPipe;
        sqe->OpFlags = SpliceFlags;
        connection.Pending++;
    }

    private void PollFor(UringConnection connection, UringDirection direction, int fd, ushort events)
    {
        var sqe = Submit(connection.Slot, UringOp.Poll, IORING_OP_POLL_ADD, fd, direction.Downstream);
        sqe->OpFlags = events;
        connection.Pending++;
    }

    private void OnSpliceIn(UringConnection connection, UringDirection direction, int result)
    {
        if (result > 0)
        {
            direction.InPipe = result;
            direction.Unreported += result;

            // Less than a buffer's worth: the stream slowed down, so the buffers take it again once the pipe is empty.
            direction.LeaveSplice = result < BufferSize;
            SpliceOut(connection, direction);
            return;
        }

        switch (-result)
        {
            case 0:
                ReturnToBuffers(direction);
                OnSourceEof(connection, direction);
                break;
            case Native.EAGAIN:
            case Native.EINTR:
                // The pipe is empty here, so EAGAIN can only mean an empty socket (not a full pipe, as in the epoll engine).
                PollFor(connection, direction, direction.SourceFd, POLLIN | POLLRDHUP);
                break;
            default:
                Close(connection, reset: true);
                break;
        }
    }

    private void OnSpliceOut(UringConnection connection, UringDirection direction, int result)
    {
        if (result > 0)
        {
            direction.InPipe -= result;
            direction.Moved = true;
            if (direction.InPipe > 0)
            {
                SpliceOut(connection, direction);
            }
            else if (direction.LeaveSplice)
            {
                ReturnToBuffers(direction);
                StartReceive(connection, direction);
            }
            else
            {
                SpliceIn(connection, direction);
            }

            return;
        }

        if (result is -Native.EAGAIN or -Native.EINTR or 0)
        {
            PollFor(connection, direction, direction.TargetFd, POLLOUT);
            return;
        }

        Close(connection, reset: true);
    }

    /// <summary>The socket is ready (or failed, which the next splice reports): the step it waited for is tried again.</summary>
    private void OnPoll(UringConnection connection, UringDirection direction, int result)
    {
        if (result < 0)
        {
            Close(connection, reset: true);
        }
        else if (direction.InPipe > 0)
        {
            SpliceOut(connection, direction);
        }
        else
        {
            SpliceIn(connection, direction);
        }
    }

    private void ReturnToBuffers(UringDirection direction)
    {
        direction.ReleasePipe(_pipes);
        direction.Spliced = false;
        direction.FullReads = 0;
    }
}
