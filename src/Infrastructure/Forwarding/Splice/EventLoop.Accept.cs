using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>A listening socket as one event loop sees it.</summary>
internal sealed class LoopListener(int fd, ListenerContext context)
{
    public int Fd { get; } = fd;

    public ListenerContext Context { get; } = context;

    public int Slot { get; set; }

    /// <summary>Out of fds: accepts wait a moment instead of spinning on a level-triggered listener.</summary>
    public bool Paused { get; set; }

    public long ResumeAt { get; set; }
}

internal sealed unsafe partial class EventLoop
{
    /// <summary>Every loop waits on the listening socket; EPOLLEXCLUSIVE wakes one of them per connection.</summary>
    public override void AddListener(int fd, ListenerContext context)
    {
        if (Closed)
        {
            return;
        }

        var listener = new LoopListener(fd, context);
        listener.Slot = _slots.Take(listener);
        Register(listener);
    }

    public void RemoveListener(ListenerContext context)
    {
        if (Closed)
        {
            return;
        }

        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            if (_slots[slot] is LoopListener listener && listener.Context == context)
            {
                if (!listener.Paused)
                {
                    _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_DEL, listener.Fd, 0, 0);
                }

                _slots[slot] = null;
                _slots.Release(slot);
            }
        }
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
            if (_slots[slot] is SpliceConnection connection && connection.Context == context && connection.Phase != ConnectionPhase.Closed)
            {
                Close(connection, reset: false);
                closed++;
            }
        }

        _slots.FreeClosed();
        return closed;
    }

    private void Register(LoopListener listener)
    {
        if (Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, listener.Fd, Native.EPOLLIN | Native.EPOLLEXCLUSIVE,
                Token(listener.Slot, backendSide: false)) != 0)
        {
            throw new System.Net.Sockets.SocketException(Libc.LastError);
        }
    }

    private void Accept(LoopListener listener)
    {
        if (listener.Paused)
        {
            return;
        }

        for (var accepted = 0; accepted < AcceptBatch; accepted++)
        {
            var route = listener.Context.Route;
            int fd;
            var addressLength = _addressBuffer.Length;
            var proxyProtocol = route.ProxyProtocol;
            var needsClient = route.NeedsClientAddress || proxyProtocol != ProxyProtocolVersion.None;
            if (needsClient)
            {
                fixed (byte* address = _addressBuffer)
                {
                    fd = Native.accept4(listener.Fd, address, &addressLength, Native.SOCK_NONBLOCK | Native.SOCK_CLOEXEC);
                }
            }
            else
            {
                fd = Native.accept4(listener.Fd, null, null, Native.SOCK_NONBLOCK | Native.SOCK_CLOEXEC);
            }

            if (fd < 0)
            {
                var error = Libc.LastError;
                switch (error)
                {
                    case Native.EAGAIN:
                        return;
                    case Native.EINTR:
                    case Native.ECONNABORTED:
                        continue;
                    case Native.EMFILE:
                    case Native.ENFILE:
                        // The client stays in the backlog; the pause (not a spin on the level-triggered listener)
                        // gives closing connections the time to free descriptors.
                        listener.Context.OutOfDescriptors("accept", error, clientReset: false);
                        PauseAccepting(listener);
                        return;
                    default:
                        ForwardingLog.AcceptFailed(_logger, listener.Context.Name, error);
                        PauseAccepting(listener);
                        return;
                }
            }

            var client = needsClient ? LoopAddresses.Decode(_addressBuffer, addressLength) : null;
            if (!route.Admits(client))
            {
                // Outside the source ranges (the kernel filter drops most such clients before accept): closed before any connect.
                Native.CloseWithReset(fd);
                listener.Context.RefusedBySourceRange();
                continue;
            }

            if (ListenerContext.HasNoBackends(route))
            {
                // Refused as cheaply as it can be once accepted: a reset, no connection state, no connect.
                Native.CloseWithReset(fd);
                listener.Context.RefusedWithoutBackends();
                continue;
            }

            if (!listener.Context.TryAdmit(route))
            {
                _ = Libc.close(fd);
                continue;
            }

            var connection = new SpliceConnection(listener.Context, route, fd, client, _now);
            if (proxyProtocol != ProxyProtocolVersion.None)
            {
                if (client is null)
                {
                    // Not an IP peer: there is nothing true to put in the header, and the backend must not go without it.
                    Native.CloseWithReset(fd);
                    listener.Context.Counters.ConnectionFailed();
                    listener.Context.ConnectionClosed();
                    continue;
                }

                connection.ProxyHeader = listener.Context.ProxyHeaderFor(proxyProtocol, client);
            }

            connection.Slot = _slots.Take(connection);
            _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, fd,
                Native.EPOLLIN | Native.EPOLLOUT | Native.EPOLLRDHUP | Native.EPOLLET, Token(connection.Slot, backendSide: false));
            StartConnect(connection);
        }
    }

    private void PauseAccepting(LoopListener listener)
    {
        _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_DEL, listener.Fd, 0, 0);
        listener.Paused = true;
        listener.ResumeAt = _now + 100;
    }
}
