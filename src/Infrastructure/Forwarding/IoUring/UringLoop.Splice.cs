using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// Splice-auto, as HAProxy does it: a direction whose receives keep filling whole buffers is a bulk stream, and moves
/// socket → pipe → socket with splice(2), so its bytes never cross into user space; a short read sends it back to ring
/// buffers, which answer small messages with fewer operations.
/// </summary>
/// <remarks>
/// The splices are made on the loop thread, and only the waits go through the ring (a POLL_ADD for the side that said
/// EAGAIN). IORING_OP_SPLICE was used first: io_uring has no non-blocking attempt for splice and hands every one to an
/// io-wq worker thread, a thread hop and two wake-ups per pipe load, which cost about 30 % more CPU per GB than the
/// epoll engine's direct calls (docs/adr/0010-io-uring-engine.md).
/// </remarks>
internal sealed unsafe partial class UringLoop
{
    /// <summary>Full-buffer receives in a row that make a direction a bulk stream.</summary>
    internal const int SpliceAfterFullReads = 4;

    /// <summary>
    /// Pipe loads one direction moves before the loop turns to its other connections: a stream that never runs dry would
    /// otherwise keep the thread. A poll on a socket that is still ready completes at once, so the stream goes on next turn.
    /// </summary>
    internal const int SpliceRoundsPerTurn = 16;

    private const uint SpliceFlags = Native.SPLICE_F_MOVE | Native.SPLICE_F_NONBLOCK;

    /// <summary>Both sockets are non-blocking, so a splice never blocks the loop: an empty source or a full target says EAGAIN, and a poll waits for it.</summary>
    private bool TryEnterSplice(UringConnection connection, UringDirection direction)
    {
        if (_pipes!.Rent() is not { } pipe)
        {
            // Out of fds for a pipe: the buffers carry on.
            direction.FullReads = 0;
            return false;
        }

        // InPipe is 0 already: ReleasePipe zeroes it whenever a pipe leaves a direction.
        direction.Pipe = pipe;
        direction.Spliced = true;
        direction.LeaveSplice = false;
        Interlocked.Increment(ref _spliceSwitches);
        PumpSplice(connection, direction);
        return true;
    }

    /// <summary>
    /// Fills the pipe from the source and drains it into the target until one of them says EAGAIN (a poll then waits for
    /// it), the source ends, the stream slows to less than a buffer (back to the ring buffers), or the turn's rounds are spent.
    /// </summary>
    private void PumpSplice(UringConnection connection, UringDirection direction)
    {
        var pipe = direction.Pipe!.Value;
        for (var round = 0; round < SpliceRoundsPerTurn; round++)
        {
            if (direction.InPipe == 0)
            {
                var read = Native.splice(direction.SourceFd, null, pipe.WriteFd, null, (nuint)pipe.Capacity, SpliceFlags);
                if (read == 0)
                {
                    ReturnToBuffers(direction);
                    OnSourceEof(connection, direction);
                    return;
                }

                if (read < 0)
                {
                    // The pipe is empty here, so EAGAIN can only mean an empty socket (not a full pipe).
                    WaitOrClose(connection, direction, read, direction.SourceFd, POLLIN | POLLRDHUP);
                    return;
                }

                direction.InPipe = (int)read;
                direction.Unreported += read;

                // Less than a buffer's worth: the stream slowed down, so the buffers take it again once the pipe is empty.
                direction.LeaveSplice = read < BufferSize;
            }

            var written = Native.splice(pipe.ReadFd, null, direction.TargetFd, null, (nuint)direction.InPipe, SpliceFlags);
            if (written <= 0)
            {
                WaitOrClose(connection, direction, written, direction.TargetFd, POLLOUT);
                return;
            }

            direction.InPipe -= (int)written;
            direction.Moved = true;
            if (direction.InPipe == 0 && direction.LeaveSplice)
            {
                ReturnToBuffers(direction);
                StartReceive(connection, direction);
                return;
            }
        }

        PollFor(connection, direction, direction.InPipe > 0 ? direction.TargetFd : direction.SourceFd,
            direction.InPipe > 0 ? POLLOUT : (ushort)(POLLIN | POLLRDHUP));
    }

    /// <summary>After a splice that moved nothing: EAGAIN (or a splice out of 0 bytes) waits for the socket; any other error resets both sides.</summary>
    private void WaitOrClose(UringConnection connection, UringDirection direction, nint result, int fd, ushort events)
    {
        if (result == 0 || Libc.LastError is Native.EAGAIN or Native.EINTR)
        {
            PollFor(connection, direction, fd, events);
        }
        else
        {
            Close(connection, reset: true);
        }
    }

    private void PollFor(UringConnection connection, UringDirection direction, int fd, ushort events)
    {
        var sqe = Submit(connection.Slot, UringOp.Poll, IORING_OP_POLL_ADD, fd, direction.Downstream);
        sqe->OpFlags = events;
        connection.Pending++;
    }

    /// <summary>The socket is ready (or failed, which the next splice reports): the pump goes on.</summary>
    private void OnPoll(UringConnection connection, UringDirection direction, int result)
    {
        if (result < 0)
        {
            Close(connection, reset: true);
        }
        else
        {
            PumpSplice(connection, direction);
        }
    }

    private void ReturnToBuffers(UringDirection direction)
    {
        direction.ReleasePipe(_pipes);
        direction.Spliced = false;
        direction.FullReads = 0;
    }
}
