using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>
/// One thread with its own epoll set, the way HAProxy runs a thread per core: it accepts, connects and splices for
/// the connections it accepted, so no fd is ever touched by two threads and nothing on the data path takes a lock.
/// Other threads talk to it only through <see cref="Post"/>.
/// </summary>
internal sealed unsafe partial class EventLoop : IDisposable
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
    private readonly int _wakeFd;
    private readonly PipePool _pipes;
    private readonly ConcurrentQueue<Action<EventLoop>> _commands = new();
    private readonly Stack<int> _freeSlots = new();
    private readonly List<int> _slotsToFree = [];
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _housekeepingInterval;
    private readonly byte[] _addressBuffer = new byte[128];
    private object?[] _slots = new object?[256];
    private int _slotHighWater;
    private bool _stopping;
    private readonly Lock _wakeGate = new();
    private volatile bool _closed;
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

        _wakeFd = Native.eventfd(0, Native.EFD_NONBLOCK | Native.EFD_CLOEXEC);
        if (_wakeFd < 0)
        {
            var error = Libc.LastError;
            _ = Libc.close(_epollFd);
            throw new SocketException(error);
        }

        _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, _wakeFd, Native.EPOLLIN, WakeToken);

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

    /// <summary>Runs <paramref name="command"/> on the loop's thread.</summary>
    public void Post(Action<EventLoop> command)
    {
        _commands.Enqueue(command);
        lock (_wakeGate)
        {
            if (!_closed)
            {
                ulong one = 1;
                _ = Native.write(_wakeFd, &one, sizeof(ulong));
                return;
            }
        }

        // The loop is gone (stopped or failed): run the command here against its empty state, so that nobody waits
        // forever for a thread that will not answer.
        RunPendingCommands();
    }

    public Task PostAsync(Action<EventLoop> command)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(loop =>
        {
            try
            {
                command(loop);
                done.SetResult();
            }
            catch (Exception exception)
            {
                done.SetException(exception);
            }
        });
        return done.Task;
    }

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

                FreeClosedSlots();
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
            lock (_wakeGate)
            {
                _closed = true;
            }

            CloseEverything();
            RunPendingCommands();
            NativeMemory.Free(events);
            _stopped.TrySetResult();
        }
    }

    private void RunPendingCommands()
    {
        while (_commands.TryDequeue(out var command))
        {
            command(this);
        }
    }

    private void Dispatch(uint flags, ulong token)
    {
        if (token == WakeToken)
        {
            ulong value;
            _ = Native.read(_wakeFd, &value, sizeof(ulong));
            RunPendingCommands();
            return;
        }

        var target = _slots[(int)(token >> 1)];
        if (target is LoopListener listener)
        {
            Accept(listener);
        }
        else if (target is SpliceConnection connection && connection.Phase != SplicePhase.Closed)
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

    private int TakeSlot(object target)
    {
        int slot;
        if (_freeSlots.Count > 0)
        {
            slot = _freeSlots.Pop();
        }
        else
        {
            if (_slotHighWater == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
            }

            slot = _slotHighWater++;
        }

        _slots[slot] = target;
        return slot;
    }

    /// <summary>Slots are reused only after the batch, so an event later in the same batch never finds a stranger.</summary>
    private void FreeClosedSlots()
    {
        foreach (var slot in _slotsToFree)
        {
            _slots[slot] = null;
            _freeSlots.Push(slot);
        }

        _slotsToFree.Clear();
    }

    private static ulong Token(int slot, bool backendSide) => ((ulong)slot << 1) | (backendSide ? 1UL : 0UL);

    private void Housekeeping()
    {
        var idleLimit = (long)_options.IdleTimeout.TotalMilliseconds;
        for (var slot = 0; slot < _slotHighWater; slot++)
        {
            switch (_slots[slot])
            {
                case SpliceConnection { Phase: SplicePhase.Connecting } connecting when _now >= connecting.ConnectDeadline:
                    OnConnectFailed(connecting, "connect timed out");
                    break;
                case SpliceConnection { Phase: SplicePhase.Open } open:
                    FlushCounters(open);
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

        FreeClosedSlots();
    }

    private void CloseEverything()
    {
        for (var slot = 0; slot < _slotHighWater; slot++)
        {
            if (_slots[slot] is SpliceConnection connection && connection.Phase != SplicePhase.Closed)
            {
                Close(connection, reset: false);
            }
        }

        FreeClosedSlots();
        _pipes.Dispose();
        _ = Libc.close(_wakeFd);
        _ = Libc.close(_epollFd);
    }

    private IPEndPoint? DecodeAddress(int length)
    {
        var family = MemoryMarshal.Read<ushort>(_addressBuffer);
        var addressFamily = family switch
        {
            Native.AF_INET => AddressFamily.InterNetwork,
            Native.AF_INET6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (addressFamily == AddressFamily.Unknown)
        {
            return null;
        }

        var socketAddress = new SocketAddress(addressFamily, length);
        _addressBuffer.AsSpan(0, length).CopyTo(socketAddress.Buffer.Span);
        var template = addressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(IPAddress.Any, 0)
            : new IPEndPoint(IPAddress.IPv6Any, 0);
        return (IPEndPoint)template.Create(socketAddress);
    }

    private static void FlushCounters(SpliceConnection connection)
    {
        if (connection.Upstream.Unreported != 0)
        {
            connection.Context.Counters.AddFromClient(connection.Upstream.Unreported);
            connection.Backend?.Counters.AddFromClient(connection.Upstream.Unreported);
            connection.Upstream.Unreported = 0;
        }

        if (connection.Downstream.Unreported != 0)
        {
            connection.Context.Counters.AddFromBackend(connection.Downstream.Unreported);
            connection.Backend?.Counters.AddFromBackend(connection.Downstream.Unreported);
            connection.Downstream.Unreported = 0;
        }
    }
}
