using LoadBalancer.Infrastructure.Forwarding.Listeners;

namespace LoadBalancer.Infrastructure.Forwarding.Loops;

/// <summary>
/// A loop's thread and the way other threads reach it: every call here may come from any thread and runs on the loop's
/// thread through its <see cref="Mailbox"/>. The loop itself (<see cref="Run"/>) is the engine's.
/// </summary>
internal abstract class LoopThread<TLoop> : IEngineLoop, IDisposable
    where TLoop : LoopThread<TLoop>
{
    private static readonly TimeSpan JoinLimit = TimeSpan.FromSeconds(10);

    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected LoopThread(string threadName)
    {
        Mailbox = new LoopMailbox<TLoop>((TLoop)this);
        _thread = new Thread(RunToTheEnd) { IsBackground = true, Name = threadName };
    }

    /// <summary>Ready at once, unless the loop sets up on its own thread.</summary>
    public virtual Task Started => Task.CompletedTask;

    public Task Stopped => _stopped.Task;

    protected LoopMailbox<TLoop> Mailbox { get; }

    /// <summary>Asked to stop (<see cref="RequestStop"/>): read on the loop's thread only.</summary>
    protected bool Stopping { get; private set; }

    /// <summary>The loop is gone: a command finds nothing of it left to act on.</summary>
    protected bool Closed => Mailbox.IsClosed;

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="command"/> on the loop's thread.</summary>
    public void Post(Action<TLoop> command) => Mailbox.Post(command);

    public Task PostAsync(Action<TLoop> command) => Mailbox.PostAsync(command);

    public void PostAddListener(int fd, ListenerContext context) => Post(loop => loop.AddListener(fd, context));

    public abstract Task RemoveListenerAsync(ListenerContext context);

    public Task CloseConnectionsAsync(ListenerContext context) => PostAsync(loop => loop.CloseConnections(context));

    /// <summary>The loop closes its connections, then its thread ends (<see cref="Stopped"/>).</summary>
    public void RequestStop() => Post(loop => ((LoopThread<TLoop>)loop).Stopping = true);

    public void Dispose()
    {
        RequestStop();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(JoinLimit);
        }
    }

    /// <summary>On the loop's thread: every loop accepts on every listening socket.</summary>
    public abstract void AddListener(int fd, ListenerContext context);

    /// <summary>On the loop's thread: closes the connections of one listener (the end of its drain); returns how many were open.</summary>
    public abstract int CloseConnections(ListenerContext context);

    /// <summary>The loop, on its own thread, until it stopped or failed; it closes everything it holds before it returns.</summary>
    protected abstract void Run();

    private void RunToTheEnd()
    {
        try
        {
            Run();
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }
}
