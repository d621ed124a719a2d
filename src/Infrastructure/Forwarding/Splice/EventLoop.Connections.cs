using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

internal sealed unsafe partial class EventLoop
{
    private const uint Readable = Native.EPOLLIN | Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR;
    private const uint Writable = Native.EPOLLOUT | Native.EPOLLHUP | Native.EPOLLERR;
    private const uint HungUp = Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR;

    private enum PumpOutcome
    {
        Ok,
        Failed,
    }

    private void StartConnect(SpliceConnection connection)
    {
        while (connection.TryBeginAttempt(_options.MaxConnectAttempts))
        {
            var backend = connection.Backend!;
            var opened = BackendSocket.TryOpen(connection, out var fd);
            if (opened == BackendSocketOutcome.OutOfDescriptors)
            {
                Close(connection, reset: true);
                return;
            }

            if (opened == BackendSocketOutcome.Failed)
            {
                break;
            }

            int result;
            fixed (byte* address = backend.NativeAddress)
            {
                result = Native.connect(fd, address, backend.NativeAddress.Length);
            }

            var error = result == 0 ? 0 : Libc.LastError;
            if (result == 0 || error == Native.EINPROGRESS)
            {
                connection.BackendFd = fd;
                connection.ConnectDeadline = _now + (long)_options.ConnectTimeout.TotalMilliseconds;
                _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, fd,
                    Native.EPOLLIN | Native.EPOLLOUT | Native.EPOLLRDHUP | Native.EPOLLET, Token(connection.Slot, backendSide: true));
                return;
            }

            _ = Libc.close(fd);
            connection.RecordConnectFailure(new System.Net.Sockets.SocketException(error).Message);
        }

        connection.GiveUpConnecting();
        Close(connection, reset: true);
    }
    private void OnConnectFailed(SpliceConnection connection, string reason)
    {
        _ = Libc.close(connection.BackendFd);
        connection.BackendFd = -1;
        connection.RecordConnectFailure(reason);
        StartConnect(connection);
    }

    private void OnConnectionEvent(SpliceConnection connection, bool backendSide, uint flags)
    {
        if (backendSide)
        {
            if ((flags & Readable) != 0)
            {
                connection.Downstream.SourceReadable = true;
                connection.Downstream.SourceHungUp |= (flags & HungUp) != 0;
            }

            if ((flags & Writable) != 0)
            {
                connection.Upstream.TargetWritable = true;
            }

            if (connection.Phase == ConnectionPhase.Connecting)
            {
                // Writable without an error is a completed connect; only a failure needs SO_ERROR for its reason.
                if ((flags & (Native.EPOLLERR | Native.EPOLLHUP)) != 0)
                {
                    var error = Native.GetSocketError(connection.BackendFd);
                    OnConnectFailed(connection, error != 0 ? new System.Net.Sockets.SocketException(error).Message : "connection closed");
                    return;
                }

                if ((flags & Native.EPOLLOUT) == 0)
                {
                    return;
                }

                OnConnected(connection);
            }
        }
        else
        {
            if ((flags & Readable) != 0)
            {
                connection.Upstream.SourceReadable = true;
                connection.Upstream.SourceHungUp |= (flags & HungUp) != 0;
            }

            if ((flags & Writable) != 0)
            {
                connection.Downstream.TargetWritable = true;
            }
        }

        if (connection.Phase == ConnectionPhase.Open)
        {
            Transfer(connection);
        }
    }

    private void OnConnected(SpliceConnection connection)
    {
        connection.Phase = ConnectionPhase.Open;
        ListenerContext.ConnectSucceeded(connection.Backend!);
        connection.Upstream.SourceFd = connection.ClientFd;
        connection.Upstream.TargetFd = connection.BackendFd;
        connection.Downstream.SourceFd = connection.BackendFd;
        connection.Downstream.TargetFd = connection.ClientFd;
        connection.LastActivity = _now;
    }

    private void Transfer(SpliceConnection connection)
    {
        if (connection.ProxyHeader is not null && SendProxyHeader(connection) == PumpOutcome.Failed)
        {
            Close(connection, reset: true);
            return;
        }

        if (Pump(connection.Upstream, connection.Downstream) == PumpOutcome.Failed ||
            Pump(connection.Downstream, connection.Upstream) == PumpOutcome.Failed)
        {
            // A reset on either side is passed on as a reset to the other.
            Close(connection, reset: true);
            return;
        }

        if (connection.Upstream.Finished && connection.Downstream.Finished)
        {
            Close(connection, reset: false);
            return;
        }

        if (connection.Upstream.Moved | connection.Downstream.Moved)
        {
            connection.LastActivity = _now;
            connection.Upstream.Moved = connection.Downstream.Moved = false;
        }
    }

    /// <summary>
    /// Writes what is left of the PROXY protocol header. Until all of it went, the upstream target stays "not writable",
    /// so <see cref="Pump"/> reads the client into the pipe but splices nothing to the backend; EPOLLOUT brings it back here.
    /// </summary>
    private static PumpOutcome SendProxyHeader(SpliceConnection connection)
    {
        var header = connection.ProxyHeader!;
        var upstream = connection.Upstream;
        while (connection.ProxyHeaderSent < header.Length)
        {
            if (!upstream.TargetWritable)
            {
                return PumpOutcome.Ok;
            }

            nint sent;
            fixed (byte* start = header)
            {
                sent = Native.send(connection.BackendFd, start + connection.ProxyHeaderSent, (nuint)(header.Length - connection.ProxyHeaderSent),
                    Native.MSG_NOSIGNAL);
            }

            if (sent > 0)
            {
                connection.ProxyHeaderSent += (int)sent;
                continue;
            }

            var error = Libc.LastError;
            if (error == Native.EAGAIN)
            {
                upstream.TargetWritable = false;
            }
            else if (error != Native.EINTR)
            {
                return PumpOutcome.Failed;
            }
        }

        connection.ProxyHeader = null;
        return PumpOutcome.Ok;
    }

    private PumpOutcome Pump(SpliceDirection direction, SpliceDirection other)
    {
        while (true)
        {
            var progressed = false;
            if (!direction.SourceEof && direction.SourceReadable)
            {
                direction.Pipe ??= _pipes.Rent();
                if (direction.Pipe is not { } pipe)
                {
                    return PumpOutcome.Failed;
                }

                var room = pipe.Capacity - direction.InPipe;
                if (room > 0)
                {
                    var pipeWasEmpty = direction.InPipe == 0;
                    var read = Native.splice(direction.SourceFd, null, pipe.WriteFd, null, (nuint)room,
                        Native.SPLICE_F_MOVE | Native.SPLICE_F_NONBLOCK);
                    if (read > 0)
                    {
                        direction.InPipe += (int)read;
                        direction.Unreported += read;
                        progressed = true;

                        // A short read into an empty pipe that cannot have run out of slots (each holds at least
                        // a byte) took everything queued; data arriving later raises a new edge. This saves the
                        // read that would only say EAGAIN, a third of the calls for small messages. Not after a
                        // hang-up: the FIN raised no later edge, so read on to see the EOF.
                        if (pipeWasEmpty && read < room && read < pipe.Capacity / PageSize && !direction.SourceHungUp)
                        {
                            direction.SourceReadable = false;
                        }
                    }
                    else if (read == 0)
                    {
                        direction.SourceEof = true;
                        progressed = true;
                    }
                    else
                    {
                        var error = Libc.LastError;
                        if (error == Native.EAGAIN)
                        {
                            // EAGAIN means "socket empty" or "pipe full"; only an empty pipe makes it the former.
                            if (direction.InPipe == 0)
                            {
                                direction.SourceReadable = false;
                            }
                        }
                        else if (error != Native.EINTR)
                        {
                            return PumpOutcome.Failed;
                        }
                    }
                }
            }

            if (direction.InPipe > 0 && direction.TargetWritable)
            {
                var written = Native.splice(direction.Pipe!.Value.ReadFd, null, direction.TargetFd, null, (nuint)direction.InPipe,
                    Native.SPLICE_F_MOVE | Native.SPLICE_F_NONBLOCK);
                if (written > 0)
                {
                    direction.InPipe -= (int)written;
                    progressed = true;
                    direction.Moved = true;
                }
                else
                {
                    var error = Libc.LastError;
                    if (error == Native.EAGAIN)
                    {
                        direction.TargetWritable = false;
                    }
                    else if (error != Native.EINTR)
                    {
                        return PumpOutcome.Failed;
                    }
                }
            }

            if (!progressed)
            {
                break;
            }
        }

        if (direction.InPipe == 0)
        {
            if (direction.Pipe is { } idle && (direction.SourceEof || !direction.SourceReadable))
            {
                _pipes.Return(idle);
                direction.Pipe = null;
            }

            if (direction.SourceEof && !direction.Finished)
            {
                // When the other way is done too, both sockets are closed next, which sends the FIN anyway.
                if (!other.Finished)
                {
                    _ = Native.shutdown(direction.TargetFd, Native.SHUT_WR);
                }

                direction.Finished = true;
            }
        }

        return PumpOutcome.Ok;
    }

    private void Close(SpliceConnection connection, bool reset)
    {
        if (connection.Phase == ConnectionPhase.Closed)
        {
            return;
        }

        var wasOpen = connection.Phase == ConnectionPhase.Open;
        connection.Phase = ConnectionPhase.Closed;
        connection.FlushCounters();
        Native.CloseSocket(connection.ClientFd, reset);
        if (connection.BackendFd >= 0)
        {
            Native.CloseSocket(connection.BackendFd, reset);
        }

        connection.Upstream.ReleasePipe(_pipes);
        connection.Downstream.ReleasePipe(_pipes);
        connection.Context.ConnectionClosed();
        if (wasOpen)
        {
            connection.Backend?.Counters.ConnectionClosed();
        }

        _slots.Release(connection.Slot);
    }
}
