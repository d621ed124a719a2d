using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Udp;

/// <summary>
/// One UDP listener's data path, on a thread of its own: an epoll set holding the listening socket and one connected
/// socket per flow. Datagrams from clients are read in batches with recvmmsg, grouped by client, and each run sent to
/// its flow's backend with one sendmmsg; replies are read per flow the same way and sent back from the listening socket,
/// so the client sees the Service's IP:port answer. Everything of a flow lives on this thread: no lock on the data path.
/// </summary>
internal sealed unsafe class UdpListenerLoop : IListenerRuntime
{
    /// <summary>Datagrams per recvmmsg/sendmmsg call: the kernel's own UIO_MAXIOV is 1024; 64 takes most of the syscall cost away.</summary>
    public const int Batch = 64;

    /// <summary>Room for the largest UDP payload, so no datagram is ever cut; the pages are touched only as far as datagrams reach.</summary>
    private const int SlotSize = 65536;

    /// <summary>sockaddr_in6 is 28 bytes.</summary>
    private const int AddressSize = 32;

    /// <summary>Batches read from one socket before the loop looks at the others, so a flood on one side cannot starve the other.</summary>
    private const int MaxBatchesPerEvent = 8;

    private const int MaxEvents = 256;
    private const ulong ListenerToken = 0;
    private const ulong WakeToken = 1;
    private const ulong FirstFlowToken = 2;

    // With a virtual clock (FakeTimeProvider) the loop looks at it every few real milliseconds, as the splice loop does.
    private const int VirtualClockPoll = 5;
    private const int SweepMilliseconds = 250;

    private readonly ListenerContext _context;
    private readonly ForwarderClock _clock;
    private readonly ILogger _logger;
    private readonly int _listenFd;
    private readonly int _epollFd;
    private readonly int _wakeFd;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _wakeGate = new();
    private readonly Dictionary<UdpFlowKey, UdpFlow> _flows = [];
    private readonly List<UdpFlow?> _slots = [];
    private readonly Stack<int> _freeSlots = new();
    private readonly List<int> _closedSlots = [];
    private readonly LogRateLimiter _flowLimitLog;
    private readonly LogRateLimiter _batchFailureLog;
    private volatile bool _stopping;
    private bool _closed;
    private ListenerRoute? _checkedRoute;
    private long _now;
    private long _nextSweep;

    // Native memory of the loop's thread, allocated when it starts.
    private UdpNative.MultiMessageHeader* _receive;
    private UdpNative.MultiMessageHeader* _send;
    private UdpNative.IoVec* _receiveVectors;
    private UdpNative.IoVec* _sendVectors;
    private byte* _addresses;
    private byte* _data;

    // Counted on the loop's thread and added to the shared counters once per batch.
    private long _datagramsFromClient;
    private long _bytesFromClient;
    private long _datagramsFromBackend;
    private long _bytesFromBackend;
    private long _dropped;

    public UdpListenerLoop(Socket socket, ListenerContext context, ForwarderClock clock, TimeProvider time, ILogger logger)
    {
        _context = context;
        _clock = clock;
        _logger = logger;
        _listenFd = (int)socket.Handle;
        _flowLimitLog = new LogRateLimiter(time, (count, since) =>
            UdpLog.FlowLimitReached(logger, count, context.Name, ForwardingLog.Seconds(since), context.Route.MaxConnections));
        _batchFailureLog = new LogRateLimiter(time, (count, since) =>
            UdpLog.BatchFailuresRepeated(logger, count, context.Name, ForwardingLog.Seconds(since)));

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

        if (Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, _wakeFd, Native.EPOLLIN, WakeToken) < 0
            || Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, _listenFd, Native.EPOLLIN, ListenerToken) < 0)
        {
            var error = Libc.LastError;
            _ = Libc.close(_wakeFd);
            _ = Libc.close(_epollFd);
            throw new SocketException(error);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"udp {context.Binding}" };
    }

    public void Start() => _thread.Start();

    /// <summary>
    /// Replies leave through the listening socket, so a UDP listener cannot stop accepting and keep its flows: stopping
    /// closes every flow socket, then the thread ends.
    /// </summary>
    public ValueTask StopAcceptingAsync()
    {
        _stopping = true;
        Wake();
        return new ValueTask(_stopped.Task);
    }

    /// <summary>Nothing is left by then: <see cref="StopAcceptingAsync"/> closed the flows.</summary>
    public ValueTask CloseConnectionsAsync() => new(_stopped.Task);

    private void Wake()
    {
        lock (_wakeGate)
        {
            if (!_closed)
            {
                ulong one = 1;
                _ = Native.write(_wakeFd, &one, sizeof(ulong));
            }
        }
    }

    private void Run()
    {
        var eventSize = Native.PackedEpollEvents ? sizeof(Native.EpollEventPacked) : sizeof(Native.EpollEventAligned);
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * eventSize));
        _receive = (UdpNative.MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(UdpNative.MultiMessageHeader)));
        _send = (UdpNative.MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(UdpNative.MultiMessageHeader)));
        _receiveVectors = (UdpNative.IoVec*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(UdpNative.IoVec)));
        _sendVectors = (UdpNative.IoVec*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(UdpNative.IoVec)));
        _addresses = (byte*)NativeMemory.AllocZeroed((nuint)((Batch + 1) * AddressSize));
        _data = (byte*)NativeMemory.Alloc((nuint)Batch * SlotSize);
        var wait = _clock.IsVirtual ? VirtualClockPoll : SweepMilliseconds;
        try
        {
            _now = _clock.NowMilliseconds;
            _nextSweep = _now + SweepMilliseconds;
            while (!_stopping)
            {
                var count = Native.epoll_wait(_epollFd, events, MaxEvents, wait);
                if (count < 0 && Libc.LastError != Native.EINTR)
                {
                    throw new SocketException(Libc.LastError);
                }

                _now = _clock.NowMilliseconds;
                for (var i = 0; i < count; i++)
                {
                    var token = Native.PackedEpollEvents ? ((Native.EpollEventPacked*)events)[i].Data : ((Native.EpollEventAligned*)events)[i].Data;
                    Dispatch(token);
                }

                FlushCounters();
                foreach (var slot in _closedSlots)
                {
                    _freeSlots.Push(slot);
                }

                _closedSlots.Clear();
                if (_now >= _nextSweep || _clock.IsVirtual || !ReferenceEquals(_context.Route, _checkedRoute))
                {
                    Sweep();
                    _nextSweep = _now + SweepMilliseconds;
                }
            }
        }
        catch (Exception exception)
        {
            UdpLog.LoopFailed(_logger, exception, _context.Name);
        }
        finally
        {
            lock (_wakeGate)
            {
                _closed = true;
            }

            CloseFlows("listener stopped", _ => true);
            FlushCounters();
            _flowLimitLog.Flush();
            _batchFailureLog.Flush();
            _ = Libc.close(_wakeFd);
            _ = Libc.close(_epollFd);
            NativeMemory.Free(events);
            NativeMemory.Free(_receive);
            NativeMemory.Free(_send);
            NativeMemory.Free(_receiveVectors);
            NativeMemory.Free(_sendVectors);
            NativeMemory.Free(_addresses);
            NativeMemory.Free(_data);
            _stopped.TrySetResult();
        }
    }

    private void Dispatch(ulong token)
    {
        if (token == WakeToken)
        {
            ulong value;
            _ = Native.read(_wakeFd, &value, sizeof(ulong));
        }
        else if (token == ListenerToken)
        {
            ForwardFromClients();
        }
        else if (_slots[(int)(token - FirstFlowToken)] is { Closed: false } flow)
        {
            ForwardFromBackend(flow);
        }
    }

    /// <summary>Points each receive header at its slot of the data area (and, for the listening socket, at an address slot).</summary>
    private void PrepareReceive(bool withAddresses)
    {
        for (var i = 0; i < Batch; i++)
        {
            _receiveVectors[i].Base = _data + ((long)i * SlotSize);
            _receiveVectors[i].Length = SlotSize;
            ref var header = ref _receive[i].Header;
            header.Iov = &_receiveVectors[i];
            header.IovLength = 1;
            header.Name = withAddresses ? _addresses + (i * AddressSize) : null;
            header.NameLength = withAddresses ? AddressSize : 0u;
            header.Flags = 0;
            _receive[i].Length = 0;
        }
    }

    private void ForwardFromClients()
    {
        for (var round = 0; round < MaxBatchesPerEvent; round++)
        {
            PrepareReceive(withAddresses: true);
            var received = UdpNative.recvmmsg(_listenFd, _receive, Batch, UdpNative.MSG_DONTWAIT, null);
            if (received < 0)
            {
                var error = Libc.LastError;
                if (error == Native.EINTR)
                {
                    continue;
                }

                if (error != Native.EAGAIN)
                {
                    ReportBatchFailure("recvmmsg from clients", error);
                }

                return;
            }

            var route = _context.Route;
            var first = 0;
            while (first < received)
            {
                var address = new ReadOnlySpan<byte>(_addresses + (first * AddressSize), (int)_receive[first].Header.NameLength);
                var key = UdpFlowKey.From(address);
                var flow = _flows.TryGetValue(key, out var found) ? found : Open(key, address, route);
                var end = first + 1;
                while (end < received && UdpFlowKey.From(new ReadOnlySpan<byte>(_addresses + (end * AddressSize), (int)_receive[end].Header.NameLength)) == key)
                {
                    end++;
                }

                if (flow is null)
                {
                    _dropped += end - first;
                }
                else
                {
                    flow.LastActive = _now;
                    SendToBackend(flow, first, end);
                }

                first = end;
            }

            if (received < Batch)
            {
                return;
            }
        }
    }

    /// <summary>Sends received datagrams <paramref name="first"/> to <paramref name="end"/> (exclusive) on the flow's connected socket.</summary>
    private void SendToBackend(UdpFlow flow, int first, int end)
    {
        var count = 0;
        for (var i = first; i < end; i++)
        {
            if ((_receive[i].Header.Flags & UdpNative.MSG_TRUNC) != 0)
            {
                // Cannot happen with slots of 64 KiB; were it to, a cut datagram is dropped rather than passed on altered.
                _dropped++;
                continue;
            }

            _sendVectors[count].Base = _receiveVectors[i].Base;
            _sendVectors[count].Length = _receive[i].Length;
            ref var header = ref _send[count].Header;
            header.Name = null;
            header.NameLength = 0;
            header.Iov = &_sendVectors[count];
            header.IovLength = 1;
            header.Flags = 0;
            count++;
        }

        var (datagrams, bytes, outcome) = SendBatch(flow.Fd, count);
        _datagramsFromClient += datagrams;
        _bytesFromClient += bytes;
        flow.Backend.Counters.AddDatagramsFromClient(datagrams, bytes);
        _dropped += count - datagrams;
        if (outcome == UdpNative.ECONNREFUSED)
        {
            Refused(flow);
        }
    }

    private void ForwardFromBackend(UdpFlow flow)
    {
        for (var round = 0; round < MaxBatchesPerEvent; round++)
        {
            PrepareReceive(withAddresses: false);
            var received = UdpNative.recvmmsg(flow.Fd, _receive, Batch, UdpNative.MSG_DONTWAIT, null);
            if (received < 0)
            {
                var error = Libc.LastError;
                if (error == Native.EINTR)
                {
                    continue;
                }

                if (error == UdpNative.ECONNREFUSED)
                {
                    Refused(flow);
                }
                else if (error != Native.EAGAIN)
                {
                    ReportBatchFailure("recvmmsg from a backend", error);
                    CloseFlow(flow);
                }

                return;
            }

            if (!flow.Answered)
            {
                flow.Answered = true;
                flow.Backend.Health.ReportConnectSucceeded();
            }

            flow.LastActive = _now;
            var replyAddress = _addresses + (Batch * AddressSize);
            flow.ClientAddress.CopyTo(new Span<byte>(replyAddress, AddressSize));
            for (var i = 0; i < received; i++)
            {
                _sendVectors[i].Base = _receiveVectors[i].Base;
                _sendVectors[i].Length = _receive[i].Length;
                ref var header = ref _send[i].Header;
                header.Name = replyAddress;
                header.NameLength = (uint)flow.ClientAddress.Length;
                header.Iov = &_sendVectors[i];
                header.IovLength = 1;
                header.Flags = 0;
            }

            var (datagrams, bytes, _) = SendBatch(_listenFd, received);
            _datagramsFromBackend += datagrams;
            _bytesFromBackend += bytes;
            flow.Backend.Counters.AddDatagramsFromBackend(datagrams, bytes);
            _dropped += received - datagrams;
            if (received < Batch)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Sends the first <paramref name="count"/> prepared headers. A full socket buffer (EAGAIN) drops what is left, as a
    /// router drops what it cannot queue; any other error drops the one datagram it names and goes on.
    /// </summary>
    /// <returns>Datagrams and bytes sent, and ECONNREFUSED when the connected peer's port is closed (what is left is dropped).</returns>
    private (int Datagrams, long Bytes, int Outcome) SendBatch(int fd, int count)
    {
        var sent = 0;
        long bytes = 0;
        while (sent < count)
        {
            var result = UdpNative.sendmmsg(fd, _send + sent, (uint)(count - sent), UdpNative.MSG_DONTWAIT);
            if (result > 0)
            {
                for (var i = sent; i < sent + result; i++)
                {
                    bytes += _send[i].Length;
                }

                sent += result;
                continue;
            }

            var error = Libc.LastError;
            if (error == Native.EINTR)
            {
                continue;
            }

            if (error == UdpNative.ECONNREFUSED)
            {
                return (sent, bytes, error);
            }

            if (error is Native.EAGAIN or Native.ENOBUFS)
            {
                break;
            }

            ReportBatchFailure("sendmmsg", error);
            count--;
            _dropped++;
            for (var i = sent; i < count; i++)
            {
                _send[i] = _send[i + 1];
            }
        }

        return (sent, bytes, 0);
    }

    /// <summary>A new client: a backend by the listener's policy and a socket connected to it, or null (the datagram is dropped and counted).</summary>
    private UdpFlow? Open(UdpFlowKey key, ReadOnlySpan<byte> address, ListenerRoute route)
    {
        var client = route.NeedsClientAddress ? UdpFlowKey.ToEndPoint(address) : null;

        // The kernel's socket filter drops these before they are queued; this catches what it let through (no filter
        // attached, or datagrams queued before the ranges changed).
        if (!route.Admits(client))
        {
            _context.RefusedBySourceRange();
            return null;
        }

        if (ListenerContext.HasNoBackends(route))
        {
            _context.RefusedWithoutBackends();
            return null;
        }

        if (!_context.TryAdmit(route))
        {
            if (_flowLimitLog.TryEnter())
            {
                UdpLog.FlowLimitReachedFirst(_logger, _context.Name, route.MaxConnections);
            }

            return null;
        }

        var backend = ListenerContext.PickBackend(route, client, [])!;
        var fd = Libc.socket(backend.NativeAddressFamily, UdpNative.SOCK_DGRAM | Native.SOCK_NONBLOCK | Native.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            var error = Libc.LastError;
            _context.OutOfDescriptors("socket", error, clientReset: true);
            _context.ConnectionClosed();
            return null;
        }

        int connected;
        fixed (byte* backendAddress = backend.NativeAddress)
        {
            connected = Native.connect(fd, backendAddress, backend.NativeAddress.Length);
        }

        if (connected < 0)
        {
            var error = Libc.LastError;
            _ = Libc.close(fd);
            _context.ConnectFailed(backend, $"connect: errno {error}");
            _context.ConnectionClosed();
            return null;
        }

        var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : AddSlot();
        if (Native.EpollControl(_epollFd, Native.EPOLL_CTL_ADD, fd, Native.EPOLLIN, FirstFlowToken + (ulong)slot) < 0)
        {
            var error = Libc.LastError;
            _ = Libc.close(fd);
            _freeSlots.Push(slot);
            _context.OutOfDescriptors("epoll_ctl", error, clientReset: true);
            _context.ConnectionClosed();
            return null;
        }

        var flow = new UdpFlow(key, address.ToArray(), backend, fd, slot, _now);
        _slots[slot] = flow;
        _flows.Add(key, flow);
        backend.Counters.ConnectionOpened();
        return flow;
    }

    private int AddSlot()
    {
        _slots.Add(null);
        return _slots.Count - 1;
    }

    /// <summary>
    /// The backend's host answered with ICMP port unreachable: nothing listens there. It counts as a failed connect, which
    /// feeds passive ejection, and the flow ends so that the client's next datagram picks a backend again.
    /// </summary>
    private void Refused(UdpFlow flow)
    {
        _context.ConnectFailed(flow.Backend, "port unreachable (ICMP)");
        CloseFlow(flow);
    }

    private void CloseFlow(UdpFlow flow)
    {
        if (flow.Closed)
        {
            return;
        }

        flow.Closed = true;
        _ = Native.EpollControl(_epollFd, Native.EPOLL_CTL_DEL, flow.Fd, 0, 0);
        _ = Libc.close(flow.Fd);
        _flows.Remove(flow.Key);
        _slots[flow.Slot] = null;

        // Freed after the current batch of events: one later in it may still name this slot.
        _closedSlots.Add(flow.Slot);
        flow.Backend.Counters.ConnectionClosed();
        _context.ConnectionClosed();
    }

    /// <summary>Ends idle flows, and flows whose backend no longer takes new ones (removed, not ready, failing its checks).</summary>
    private void Sweep()
    {
        var route = _context.Route;
        if (!ReferenceEquals(route, _checkedRoute))
        {
            _checkedRoute = route;
            var available = new HashSet<BackendState>(route.Backends.Available, ReferenceEqualityComparer.Instance);
            CloseFlows("their backend left or stopped taking new flows", flow => !available.Contains(flow.Backend));
        }

        var idle = (long)route.FlowIdleTimeout.TotalMilliseconds;
        CloseFlows("idle", flow => _now - flow.LastActive >= idle);
    }

    private void CloseFlows(string reason, Func<UdpFlow, bool> condition)
    {
        var closed = 0;
        for (var slot = 0; slot < _slots.Count; slot++)
        {
            if (_slots[slot] is { Closed: false } flow && condition(flow))
            {
                CloseFlow(flow);
                closed++;
            }
        }

        if (closed > 0)
        {
            UdpLog.FlowsClosed(_logger, _context.Name, closed, reason);
        }
    }

    private void ReportBatchFailure(string operation, int errno)
    {
        if (_batchFailureLog.TryEnter())
        {
            UdpLog.BatchFailed(_logger, _context.Name, operation, errno);
        }
    }

    private void FlushCounters()
    {
        var counters = _context.Counters;
        if (_datagramsFromClient > 0)
        {
            counters.AddDatagramsFromClient(_datagramsFromClient, _bytesFromClient);
            _datagramsFromClient = 0;
            _bytesFromClient = 0;
        }

        if (_datagramsFromBackend > 0)
        {
            counters.AddDatagramsFromBackend(_datagramsFromBackend, _bytesFromBackend);
            _datagramsFromBackend = 0;
            _bytesFromBackend = 0;
        }

        if (_dropped > 0)
        {
            counters.AddDatagramsDropped(_dropped);
            _dropped = 0;
        }
    }
}
