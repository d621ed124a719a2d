using LoadBalancer.Infrastructure.Interop;
namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>A kernel pipe: the buffer splice moves bytes through.</summary>
internal readonly record struct Pipe(int ReadFd, int WriteFd, int Capacity);

/// <summary>
/// Pipes of one event loop (used only by its thread, so no locking). A direction rents a pipe while bytes flow and
/// returns it empty, so an idle connection holds none; a few are kept because creating one costs three syscalls.
/// </summary>
internal sealed unsafe class PipePool : IDisposable
{
    private readonly Stack<Pipe> _idle = new();
    private readonly int _requestedSize;
    private readonly int _maxIdle;

    public PipePool(int requestedSize, int maxIdle)
    {
        _requestedSize = requestedSize;
        _maxIdle = maxIdle;
    }

    public int Idle => _idle.Count;

    /// <summary>Null when the process is out of fds; the caller treats that like a failed read.</summary>
    public Pipe? Rent()
    {
        if (_idle.TryPop(out var pipe))
        {
            return pipe;
        }

        int* fds = stackalloc int[2];
        if (Native.pipe2(fds, Native.O_NONBLOCK | Native.O_CLOEXEC) != 0)
        {
            return null;
        }

        // A bigger pipe means fewer splice calls per megabyte; the kernel may refuse (limits), then the default stays.
        _ = Native.fcntl(fds[1], Native.F_SETPIPE_SZ, _requestedSize);
        var capacity = Native.fcntl(fds[1], Native.F_GETPIPE_SZ, 0);
        return new Pipe(fds[0], fds[1], capacity > 0 ? capacity : 65536);
    }

    /// <summary>Takes back an empty pipe.</summary>
    public void Return(Pipe pipe)
    {
        if (_idle.Count < _maxIdle)
        {
            _idle.Push(pipe);
            return;
        }

        Close(pipe);
    }

    /// <summary>A pipe that may still hold bytes (its connection was cut) is closed, never reused.</summary>
    public static void Close(Pipe pipe)
    {
        _ = Libc.close(pipe.ReadFd);
        _ = Libc.close(pipe.WriteFd);
    }

    public void Dispose()
    {
        while (_idle.TryPop(out var pipe))
        {
            Close(pipe);
        }
    }
}
