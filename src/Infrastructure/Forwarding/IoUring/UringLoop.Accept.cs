using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>A listening socket as one io_uring loop sees it.</summary>
internal sealed class UringListener(int fd, ListenerContext context)
{
    public int Fd { get; } = fd;

    public ListenerContext Context { get; } = context;

    public int Slot { get; set; }

    /// <summary>A multishot accept is in the ring for this listener.</summary>
    public bool Armed { get; set; }

    /// <summary>Out of fds or a failed accept: accepts wait a moment instead of failing in a tight loop.</summary>
    public bool Paused { get; set; }

    public long ResumeAt { get; set; }

    /// <summary>Set once the listener is being removed; completed when its accept is confirmed gone.</summary>
    public TaskCompletionSource? Removal { get; set; }
}

internal sealed unsafe partial class UringLoop
{
    /// <summary>Every loop keeps a multishot accept on the listening socket; the kernel wakes one of them per connection.</summary>
    public override void AddListener(int fd, ListenerContext context)
    {
        if (Closed || Stopping)
        {
            return;
        }

        var listener = new UringListener(fd, context);
        listener.Slot = _slots.Take(listener);
        ArmAccept(listener);
    }

    /// <summary>Posts the removal; the task completes once this loop's accept on the listener is cancelled and confirmed.</summary>
    public override Task RemoveListenerAsync(ListenerContext context)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(loop => loop.RemoveListener(context, done));
        return done.Task;
    }

    /// <summary>Closes the connections of one listener (the end of its drain); returns how many were open.</summary>
    public override int CloseConnections(ListenerContext context)
    {
        var closed = 0;
        if (Closed)
        {
            return closed;
        }

        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            if (_slots[slot] is UringConnection connection && connection.Context == context && connection.Phase != ConnectionPhase.Closed)
            {
                Close(connection, reset: false);
                closed++;
            }
        }

        _slots.FreeClosed();
        return closed;
    }

    private void RemoveListener(ListenerContext context, TaskCompletionSource done)
    {
        if (Closed)
        {
            done.TrySetResult();
            return;
        }

        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            if (_slots[slot] is UringListener listener && listener.Context == context)
            {
                StopListener(listener, done);
                return;
            }
        }

        done.TrySetResult();
    }

    /// <summary>Cancels the listener's accept; the slot goes (and <paramref name="done"/> completes) with its last completion.</summary>
    private void StopListener(UringListener listener, TaskCompletionSource? done)
    {
        if (listener.Removal is not null)
        {
            // Already being removed (the loop is stopping): the caller learns when that removal is confirmed.
            if (done is not null)
            {
                _ = listener.Removal.Task.ContinueWith(_ => done.TrySetResult(), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return;
        }

        listener.Removal = done ?? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (listener.Armed)
        {
            CancelUserData(UserData(listener.Slot, UringOp.Accept));
            return;
        }

        ForgetListener(listener);
    }

    private void ForgetListener(UringListener listener)
    {
        _slots.Release(listener.Slot);
        listener.Removal?.TrySetResult();
    }

    private void ArmAccept(UringListener listener)
    {
        var sqe = Submit(listener.Slot, UringOp.Accept, IORING_OP_ACCEPT, listener.Fd);
        sqe->IoPriority = IORING_ACCEPT_MULTISHOT;
        sqe->OpFlags = Native.SOCK_NONBLOCK | Native.SOCK_CLOEXEC;
        listener.Armed = true;
    }

    private void OnAccept(UringListener listener, in Cqe cqe)
    {
        var more = (cqe.Flags & IORING_CQE_F_MORE) != 0;
        if (!more)
        {
            listener.Armed = false;
        }

        if (cqe.Result >= 0)
        {
            // Also while the listener is being removed: the client was accepted before the cancel took, so it is served.
            Accepted(listener, cqe.Result);
        }
        else if (listener.Removal is null)
        {
            var error = -cqe.Result;
            switch (error)
            {
                case Native.EINTR:
                case Native.ECONNABORTED:
                case Native.EAGAIN:
                case ECANCELED:
                    break;
                case Native.EMFILE:
                case Native.ENFILE:
                    // The client stays in the backlog; the pause gives closing connections the time to free descriptors.
                    listener.Context.OutOfDescriptors("accept", error, clientReset: false);
                    PauseAccepting(listener);
                    break;
                default:
                    ForwardingLog.AcceptFailed(_logger, listener.Context.Name, error);
                    PauseAccepting(listener);
                    break;
            }
        }

        if (more)
        {
            return;
        }

        // A multishot accept ends after an error or when the kernel cannot post more; it is armed again unless paused.
        if (listener.Removal is not null)
        {
            ForgetListener(listener);
        }
        else if (!listener.Paused && !Stopping)
        {
            ArmAccept(listener);
        }
    }

    private void PauseAccepting(UringListener listener)
    {
        listener.Paused = true;
        listener.ResumeAt = _now + 100;
        if (listener.Armed)
        {
            // The accept goes on after some errors: cancelled, so that the pause is one.
            CancelUserData(UserData(listener.Slot, UringOp.Accept));
        }
    }

    private void Accepted(UringListener listener, int fd)
    {
        if (_stopIssued)
        {
            // Accepted as the loop stops (its accepts are being cancelled): the loop closes what it has, not more.
            Native.CloseWithReset(fd);
            return;
        }

        var route = listener.Context.Route;
        var proxyProtocol = route.ProxyProtocol;
        var needsClient = route.NeedsClientAddress || proxyProtocol != ProxyProtocolVersion.None;
        System.Net.IPEndPoint? client = null;
        if (needsClient)
        {
            // A multishot accept has one address buffer for every connection it posts, so the peer is asked per fd.
            var addressLength = _addressBuffer.Length;
            fixed (byte* address = _addressBuffer)
            {
                if (getpeername(fd, address, &addressLength) == 0)
                {
                    client = LoopAddresses.Decode(_addressBuffer, addressLength);
                }
            }
        }

        if (!route.Admits(client))
        {
            // Outside the source ranges (the kernel filter drops most such clients before accept): closed before any connect.
            Native.CloseWithReset(fd);
            listener.Context.RefusedBySourceRange();
            return;
        }

        if (ListenerContext.HasNoBackends(route))
        {
            // Refused as cheaply as it can be once accepted: a reset, no connection state, no connect.
            Native.CloseWithReset(fd);
            listener.Context.RefusedWithoutBackends();
            return;
        }

        if (!listener.Context.TryAdmit(route))
        {
            _ = Libc.close(fd);
            return;
        }

        var connection = new UringConnection(listener.Context, route, fd, client, _now);
        if (proxyProtocol != ProxyProtocolVersion.None)
        {
            if (client is null)
            {
                // Not an IP peer: there is nothing true to put in the header, and the backend must not go without it.
                Native.CloseWithReset(fd);
                listener.Context.Counters.ConnectionFailed();
                listener.Context.ConnectionClosed();
                return;
            }

            var header = listener.Context.ProxyHeaderFor(proxyProtocol, client);
            connection.ProxyHeader = GC.AllocateUninitializedArray<byte>(header.Length, pinned: true);
            header.CopyTo(connection.ProxyHeader, 0);
        }

        connection.Slot = _slots.Take(connection);
        StartConnect(connection);
    }
}
