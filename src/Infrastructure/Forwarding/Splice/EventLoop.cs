using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Loops;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>
/// One thread with its own epoll set, the way HAProxy runs a thread per core: it accepts, connects and splices for
/// the connections it accepted, so no fd is ever touched by two threads and nothing on the data path takes a lock.
/// Other threads talk to it only through its mailbox, whose eventfd sits in the epoll set.
/// </summary>
internal sealed unsafe partial class EventLoop : LoopThread<EventLoop>
{
    private const int MaxEvents = 256;
    private const int AcceptBatch = 64;
    private const ulong WakeToken = ulong.MaxValue;
    private static readonly int PageSize = Environment.SystemPageSize;

    private readonly int _id;
    private readonly ForwarderOptions _options;
    private readonly ForwarderClock _clock;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly int _epollFd;
    private readonly PipePool _pipes;
    private readonly HousekeepingTick _tick;
    private readonly byte[] _addressBuffer = new byte[128];
    private readonly LoopSlots _slots = new();
    private long _now;

    public EventLoop(int id, ForwarderOptions options, ForwarderClock clock, Microsoft.Extensions.Logging.ILogger logger)
        : base($"splice-loop-{id}")
    {
        ArgumentNullException.ThrowIfNull(clock);
        _id = id;
        _options = options;
        _clock = clock;
        _logger = logger;
        _pipes = new PipePool(options.PipeSize, maxIdle: 128);
        _epollFd = Native.epoll_create1(Native.EPOLL_CLOEXEC);
        if (_epollFd < 0)
        {
            var error = Libc.LastError;
            Mailbox.Close();
            throw new SocketException(error);
        }

        _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, Mailbox.WakeFd, Native.EPOLLIN, WakeToken);
        _tick = new HousekeepingTick(options, clock);
    }

    public override Task RemoveListenerAsync(ListenerContext context) => PostAsync(loop => loop.RemoveListener(context));

    protected override void Run()
    {
        var eventSize = Native.PackedEpollEvents ? sizeof(Native.EpollEventPacked) : sizeof(Native.EpollEventAligned);
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * eventSize));
        try
        {
            _now = _clock.NowMilliseconds;
            _tick.Start(_now);
            while (!Stopping)
            {
                var count = Native.epoll_wait(_epollFd, events, MaxEvents, _tick.WaitMilliseconds);
                if (count < 0 && Libc.LastError != Native.EINTR)
                {
                    throw new SocketException(Libc.LastError);
                }

                _now = _clock.NowMilliseconds;
                for (var i = 0; i < count; i++)
                {
                    uint flags;
                    ulong token;
                    if (Native.PackedEpollEvents)
                    {
                        var ev = ((Native.EpollEventPacked*)events)[i];
                        (flags, token) = (ev.Events, ev.Data);
                    }
                    else
                    {
                        var ev = ((Native.EpollEventAligned*)events)[i];
                        (flags, token) = (ev.Events, ev.Data);
                    }

                    Dispatch(flags, token);
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
            CloseEverything();
            Mailbox.RunPending();
            NativeMemory.Free(events);
        }
    }

    private void Dispatch(uint flags, ulong token)
    {
        if (token == WakeToken)
        {
            Mailbox.ClearWake();
            Mailbox.RunPending();
            return;
        }

        var target = _slots[(int)(token >> 1)];
        if (target is LoopListener listener)
        {
            Accept(listener);
        }
        else if (target is SpliceConnection connection && connection.Phase != ConnectionPhase.Closed)
        {
            try
            {
                OnConnectionEvent(connection, backendSide: (token & 1) == 1, flags);
            }
            catch (Exception exception)
            {
                ForwardingLog.ConnectionFailed(_logger, exception, connection.Context.Name);
                Close(connection, reset: true);
            }
        }
    }

    private static ulong Token(int slot, bool backendSide) => ((ulong)slot << 1) | (backendSide ? 1UL : 0UL);

    private void Housekeeping()
    {
        var idleLimit = (long)_options.IdleTimeout.TotalMilliseconds;
        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            switch (_slots[slot])
            {
                case SpliceConnection { Phase: ConnectionPhase.Connecting } connecting when _now >= connecting.ConnectDeadline:
                    OnConnectFailed(connecting, "connect timed out");
                    break;
                case SpliceConnection { Phase: ConnectionPhase.Open } open:
                    open.FlushCounters();
                    if (_now - open.LastActivity >= idleLimit)
                    {
                        Close(open, reset: false);
                    }

                    break;
                case LoopListener { Paused: true } paused when _now >= paused.ResumeAt:
                    paused.Paused = false;
                    Register(paused);
                    break;
            }
        }

        _slots.FreeClosed();
    }

    private void CloseEverything()
    {
        for (var slot = 0; slot < _slots.HighWater; slot++)
        {
            if (_slots[slot] is SpliceConnection connection && connection.Phase != ConnectionPhase.Closed)
            {
                Close(connection, reset: false);
            }
        }

        _slots.FreeClosed();
        _pipes.Dispose();
        _ = Libc.close(_epollFd);
    }
}
