using System.Collections.Concurrent;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Splice;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

/// <summary>
/// How other threads reach a loop's thread: commands queue here and an eventfd wakes the loop to run them. The loop
/// decides how it waits on <see cref="WakeFd"/> (in its epoll set, or as a read armed in its ring) and calls
/// <see cref="RunPending"/> when it wakes.
/// </summary>
internal sealed unsafe class LoopMailbox<TLoop>
    where TLoop : class
{
    private readonly ConcurrentQueue<Action<TLoop>> _commands = new();

    /// <summary>Held while the eventfd is written and while it is closed, so no write ever meets a closed (or reused) fd.</summary>
    private readonly Lock _wakeGate = new();
    private readonly TLoop _loop;
    private volatile bool _closed;

    public LoopMailbox(TLoop loop)
    {
        _loop = loop;
        WakeFd = Native.eventfd(0, Native.EFD_NONBLOCK | Native.EFD_CLOEXEC);
        if (WakeFd < 0)
        {
            throw new SocketException(Libc.LastError);
        }
    }

    public int WakeFd { get; }

    /// <summary>The loop is gone (stopped or failed): commands run on the thread that posts them.</summary>
    public bool IsClosed => _closed;

    /// <summary>Runs <paramref name="command"/> on the loop's thread.</summary>
    public void Post(Action<TLoop> command)
    {
        _commands.Enqueue(command);
        lock (_wakeGate)
        {
            if (!_closed)
            {
                ulong one = 1;
                _ = Native.write(WakeFd, &one, sizeof(ulong));
                return;
            }
        }

        // The loop is gone: run the command here against its empty state, so that nobody waits forever for a thread
        // that will not answer.
        RunPending();
    }

    /// <summary>Runs <paramref name="command"/> on the loop's thread; the task says when it ran, or how it failed.</summary>
    public Task PostAsync(Action<TLoop> command)
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

    public void RunPending()
    {
        while (_commands.TryDequeue(out var command))
        {
            command(_loop);
        }
    }

    /// <summary>Resets the eventfd's counter, for a loop that learns of the wake-up from epoll rather than from a read.</summary>
    public void ClearWake()
    {
        ulong value;
        _ = Native.read(WakeFd, &value, sizeof(ulong));
    }

    /// <summary>
    /// The loop ends: from now on posted commands run on their caller's thread, and the eventfd is closed. The loop then
    /// closes what it holds and calls <see cref="RunPending"/> once more for what came in between.
    /// </summary>
    public void Close()
    {
        lock (_wakeGate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _ = Libc.close(WakeFd);
        }
    }
}
