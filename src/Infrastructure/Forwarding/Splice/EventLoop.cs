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
internal sealed unsafe partial class EventLoop : IEngineLoop, IDisposable
{
    private const int MaxEvents = 256;
    private const int AcceptBatch = 64;
    private const ulong WakeToken = ulong.MaxValue;
    private const int VirtualClockPoll = 5;
    private static readonly int PageSize = Environment.SystemPageSize;

    private readonly int _id;
    private readonly ForwarderOptions _options;
    private readonly ForwarderClock _clock;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly int _epollFd;
    private readonly LoopMailbox<EventLoop> _mailbox;
    private readonly PipePool _pipes;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _housekeepingInterval;
    private readonly byte[] _addressBuffer = new byte[128];
    private readonly LoopSlots _slots = new();
    private bool _stopping;
    private readonly bool _virtualClock;
    private readonly int _waitMilliseconds;
    private long _now;
    private long _nextHousekeeping;

    public EventLoop(int id, ForwarderOptions options, ForwarderClock clock, Microsoft.Extensions.Logging.ILogger logger)
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
            throw new SocketException(Libc.LastError);
        }

        try
        {
            _mailbox = new LoopMailbox<EventLoop>(this);
        }
        catch (SocketException)
        {
            _ = Libc.close(_epollFd);
            throw;
        }

        _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, _mailbox.WakeFd, Native.EPOLLIN, WakeToken);

        // Timers are checked at this granularity: a quarter of the shortest timeout, between 10 ms and 250 ms.
        var shortest = Math.Min(options.ConnectTimeout.TotalMilliseconds, options.IdleTimeout.TotalMilliseconds) / 4;
        _housekeepingInterval = (long)Math.Clamp(shortest, 10, 250);

        // epoll_wait times out on the real clock, which a virtual one (FakeTimeProvider in tests) does not follow: it
        // jumps when the test advances it. Then the loop looks at it every few real milliseconds and runs housekeeping on
        // every wake-up, so a timeout fires at the first wake-up after the clock passed it, whatever the jump.
        _virtualClock = clock.IsVirtual;
        _waitMilliseconds = _virtualClock ? VirtualClockPoll : (int)_housekeepingInterval;
        _thread = new Thread(Run) { IsBackground = true, Name = $"splice-loop-{id}" };
    }

    public Task Stopped => _stopped.Task;

    public void Start() => _thread.Start();

    /// <summary>Ready at once: the epoll set is made by the constructor.</summary>
    public Task Started => Task.CompletedTask;

    private bool Closed => _mailbox.IsClosed;

    /// <summary>Runs <paramref name="command"/> on the loop's thread.</summary>
    public void Post(Action<EventLoop> command) => _mailbox.Post(command);

    public Task PostAsync(Action<EventLoop> command) => _mailbox.PostAsync(command);

    public void PostAddListener(int fd, ListenerContext context) => Post(loop => loop.AddListener(fd, context));

    public Task RemoveListenerAsync(ListenerContext context) => PostAsync(loop => loop.RemoveListener(context));

    public Task CloseConnectionsAsync(ListenerContext context) => PostAsync(loop => loop.CloseConnections(context));

    /// <summary>The loop closes its connections and pipes, then its thread ends (<see cref="Stopped"/>).</summary>
    public void RequestStop() => Post(loop => loop._stopping = true);

    public void Dispose()
    {
        RequestStop();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }

    private void Run()
    {
        var eventSize = Native.PackedEpollEvents ? sizeof(Native.EpollEventPacked) : sizeof(Native.EpollEventAligned);
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * eventSize));
        try
        {
            _now = _clock.NowMilliseconds;
            _nextHousekeeping = _now + _housekeepingInterval;
            while (!_stopping)
            {
                var count = Native.epoll_wait(_epollFd, events, MaxEvents, _waitMilliseconds);
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
                if (_now >= _nextHousekeeping || _virtualClock)
                {
                    Housekeeping();
                    _nextHousekeeping = _now + _housekeepingInterval;
                }
            }
        }
        catch (Exception exception)
        {
            ForwardingLog.EventLoopFailed(_logger, exception, _id);
        }
        finally
        {
            _mailbox.Close();
            CloseEverything();
            _mailbox.RunPending();
            NativeMemory.Free(events);
            _stopped.TrySetResult();
        }
    }

    private void Dispatch(uint flags, ulong token)
    {
        if (token == WakeToken)
        {
            _mailbox.ClearWake();
            _mailbox.RunPending();
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
