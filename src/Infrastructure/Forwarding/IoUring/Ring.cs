using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Interop;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// One io_uring instance: the mapped submission and completion rings and the SQE array. Used by one thread only
/// (it is set up with SINGLE_ISSUER), so SQEs are filled without atomics and published with one release store per turn.
/// </summary>
internal sealed unsafe class Ring : IDisposable
{
    private readonly int _fd;
    private readonly void* _rings;
    private readonly nuint _ringsSize;
    private readonly Sqe* _sqes;
    private readonly nuint _sqesSize;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;
    private readonly GetEventsArg* _waitArgument;
    private readonly KernelTimespec* _waitTimeout;
    private uint _sqeTail;
    private uint _submittedTail;
    private bool _disposed;

    private Ring(int fd, in Params p, void* rings, nuint ringsSize, Sqe* sqes, nuint sqesSize)
    {
        _fd = fd;
        Features = p.Features;
        Flags = p.Flags;
        _rings = rings;
        _ringsSize = ringsSize;
        _sqes = sqes;
        _sqesSize = sqesSize;
        var bytes = (byte*)rings;
        _sqHead = (uint*)(bytes + p.SqOff.Head);
        _sqTail = (uint*)(bytes + p.SqOff.Tail);
        _sqMask = *(uint*)(bytes + p.SqOff.RingMask);
        _sqEntries = *(uint*)(bytes + p.SqOff.RingEntries);
        _cqHead = (uint*)(bytes + p.CqOff.Head);
        _cqTail = (uint*)(bytes + p.CqOff.Tail);
        _cqMask = *(uint*)(bytes + p.CqOff.RingMask);
        _cqes = (Cqe*)(bytes + p.CqOff.Cqes);

        // The SQ array maps ring slots to SQEs; the engine fills SQEs in ring order, so it is the identity, written once.
        var array = (uint*)(bytes + p.SqOff.Array);
        for (uint i = 0; i < _sqEntries; i++)
        {
            array[i] = i;
        }

        _sqeTail = _submittedTail = *_sqTail;
        _waitArgument = (GetEventsArg*)NativeMemory.AllocZeroed((nuint)(sizeof(GetEventsArg) + sizeof(KernelTimespec)));
        _waitTimeout = (KernelTimespec*)(_waitArgument + 1);
        _waitArgument->Timespec = (ulong)_waitTimeout;
    }

    public int Fd => _fd;

    public uint Features { get; }

    /// <summary>The setup flags the kernel accepted (the cooperative ones may have been dropped on an older kernel).</summary>
    public uint Flags { get; }

    /// <summary>SQEs filled and not yet handed to the kernel.</summary>
    public uint Unsubmitted => _sqeTail - _submittedTail;

    /// <summary>
    /// Creates a ring with SINGLE_ISSUER and COOP_TASKRUN: the loop thread is the only submitter and enters the kernel on
    /// every turn anyway, so completions need no interrupting task work. A kernel that refuses the flags gets a ring without them.
    /// </summary>
    public static Ring Create(uint entries, out string? refusedFlags)
    {
        refusedFlags = null;
        var wanted = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP;
        var p = default(Params);
        p.Flags = wanted;
        var fd = Setup(entries, &p);
        if (fd < 0 && Libc.LastError == EINVAL)
        {
            refusedFlags = "SINGLE_ISSUER|COOP_TASKRUN|SUBMIT_ALL";
            p = default;
            p.Flags = IORING_SETUP_CLAMP;
            fd = Setup(entries, &p);
        }

        if (fd < 0)
        {
            throw new SocketException(Libc.LastError);
        }

        try
        {
            // FAST_POLL: a receive or send that cannot complete at once waits on the socket's poll queue instead of
            // blocking an io-wq worker thread; without it every idle connection would hold a kernel thread.
            const uint needed = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG | IORING_FEAT_FAST_POLL;
            if ((p.Features & needed) != needed)
            {
                throw new PlatformNotSupportedException($"io_uring lacks features 0x{needed & ~p.Features:x} (SINGLE_MMAP, NODROP, EXT_ARG, FAST_POLL)");
            }

            var sqSize = p.SqOff.Array + (p.SqEntries * sizeof(uint));
            var cqSize = p.CqOff.Cqes + (p.CqEntries * (uint)sizeof(Cqe));
            var ringsSize = (nuint)Math.Max(sqSize, cqSize);
            var rings = mmap(null, ringsSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
            if (rings == (void*)-1)
            {
                throw new SocketException(Libc.LastError);
            }

            var sqesSize = (nuint)(p.SqEntries * (uint)sizeof(Sqe));
            var sqes = mmap(null, sqesSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
            if (sqes == (void*)-1)
            {
                var error = Libc.LastError;
                _ = munmap(rings, ringsSize);
                throw new SocketException(error);
            }

            return new Ring(fd, p, rings, ringsSize, (Sqe*)sqes, sqesSize);
        }
        catch
        {
            _ = Libc.close(fd);
            throw;
        }
    }

    /// <summary>
    /// A zeroed SQE to fill; it goes to the kernel with the next <see cref="SubmitAndWait"/>. A full ring is flushed
    /// first (without waiting), so a burst of work never fails for want of SQEs.
    /// </summary>
    public Sqe* NextSqe()
    {
        if (_sqeTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
        {
            Flush();
            if (_sqeTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
            {
                // The kernel took none (its completion queue is backed up): the loop fails and closes its connections.
                throw new InvalidOperationException("the io_uring submission queue is full and the kernel takes no more");
            }
        }

        var sqe = &_sqes[_sqeTail & _sqMask];
        *sqe = default;
        _sqeTail++;
        return sqe;
    }

    /// <summary>
    /// One io_uring_enter: submits every filled SQE and waits until at least one completion is there or
    /// <paramref name="timeoutMilliseconds"/> passed. A timeout or an interruption simply returns.
    /// </summary>
    public void SubmitAndWait(int timeoutMilliseconds)
    {
        Volatile.Write(ref *_sqTail, _sqeTail);
        var toSubmit = _sqeTail - _submittedTail;
        if (HasCompletions)
        {
            // Completions are waiting already: submit without sleeping, or not enter at all.
            if (toSubmit > 0)
            {
                Enter(toSubmit, 0, 0, null, 0);
            }

            return;
        }

        _waitTimeout->Seconds = timeoutMilliseconds / 1000;
        _waitTimeout->Nanoseconds = timeoutMilliseconds % 1000 * 1_000_000L;
        Enter(toSubmit, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, _waitArgument, (nuint)sizeof(GetEventsArg));
    }

    public bool HasCompletions => *_cqHead != Volatile.Read(ref *_cqTail);

    /// <summary>Takes the next completion, if any; the slot is released at once (the value is copied).</summary>
    public bool TryTakeCompletion(out Cqe cqe)
    {
        var head = *_cqHead;
        if (head == Volatile.Read(ref *_cqTail))
        {
            cqe = default;
            return false;
        }

        cqe = _cqes[head & _cqMask];
        Volatile.Write(ref *_cqHead, head + 1);
        return true;
    }

    public int Register(uint opcode, void* argument, uint count) => UringNative.Register(_fd, opcode, argument, count);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ = munmap(_sqes, _sqesSize);
        _ = munmap(_rings, _ringsSize);
        _ = Libc.close(_fd);
        NativeMemory.Free(_waitArgument);
    }

    /// <summary>Submits every filled SQE without waiting for a completion.</summary>
    public void Flush()
    {
        Volatile.Write(ref *_sqTail, _sqeTail);
        Enter(_sqeTail - _submittedTail, 0, 0, null, 0);
    }

    private void Enter(uint toSubmit, uint minComplete, uint flags, void* argument, nuint argumentSize)
    {
        while (true)
        {
            var result = UringNative.Enter(_fd, toSubmit, minComplete, flags, argument, argumentSize);

            // Without SQPOLL the kernel consumes SQEs inside the call and moves the head: what it took, whatever the result says.
            _submittedTail = Volatile.Read(ref *_sqHead);
            if (result >= 0)
            {
                return;
            }

            var error = Libc.LastError;
            switch (error)
            {
                case ETIME:
                    return;
                case Splice.Native.EINTR:
                    toSubmit = _sqeTail - _submittedTail;
                    if (toSubmit == 0)
                    {
                        return;
                    }

                    continue;
                case EBUSY:
                case Splice.Native.EAGAIN:
                    // The completion ring is backed up (or memory is short): the caller drains it and comes back.
                    return;
                default:
                    throw new SocketException(error);
            }
        }
    }
}
