using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>How a <see cref="KeyedWorkQueue{TKey}"/> backs off a key that keeps failing.</summary>
internal sealed record WorkQueueOptions
{
    /// <summary>The delay of a key's first retry; it doubles with each further failure of that key.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Keys waiting to be processed, each at most once in the queue and processed by one worker at a time, with a
/// per-key exponential backoff for retries (the shape of client-go's rate-limited work queue).
/// </summary>
/// <remarks>
/// <para>A key enqueued while it is waiting is not added again; a key enqueued while it is being processed is
/// marked dirty and queued again when the current call ends, so the last change is always seen, never twice at once.</para>
/// <para>Failures are counted per key until <see cref="Forget"/>: the processor calls it on success (or when retrying
/// cannot help), and <see cref="Retry"/> or a throwing processor schedules the key again after
/// base × 2^failures, capped.</para>
/// </remarks>
internal sealed class KeyedWorkQueue<TKey>
    where TKey : notnull
{
    private readonly WorkQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Queue<TKey> _ready = new();
    private readonly HashSet<TKey> _dirty = [];
    /// <summary>Keys being processed, with the timestamp their call began.</summary>
    private readonly Dictionary<TKey, long> _processing = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Dictionary<TKey, Delayed> _delayed = [];
    private readonly List<TaskCompletionSource> _idleWaiters = [];

    // One token per key put in _ready, so a worker that takes a token always finds a key.
    private readonly Channel<bool> _available = Channel.CreateUnbounded<bool>();
    private int _running;

    public KeyedWorkQueue(WorkQueueOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.BaseDelay <= TimeSpan.Zero || options.MaxDelay < options.BaseDelay)
        {
            throw new ArgumentException(
                $"BaseDelay ({options.BaseDelay}) must be positive and MaxDelay ({options.MaxDelay}) not shorter than it", nameof(options));
        }

        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The key whose call has run longest, and for how long; null when none runs.</summary>
    public (TKey Key, TimeSpan For)? LongestRunning()
    {
        lock (_lock)
        {
            if (_processing.Count == 0)
            {
                return null;
            }

            var (key, started) = _processing.MinBy(entry => entry.Value);
            return (key, _time.GetElapsedTime(started));
        }
    }

    /// <summary>Keys ready to be processed (not those being processed, nor those waiting for a delay).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _ready.Count;
            }
        }
    }

    public void Enqueue(TKey key)
    {
        lock (_lock)
        {
            EnqueueLocked(key);
        }
    }

    /// <summary>
    /// Enqueues <paramref name="key"/> once <paramref name="delay"/> has passed. While a key waits, only the earliest of
    /// its requested times counts.
    /// </summary>
    public void EnqueueAfter(TKey key, TimeSpan delay)
    {
        lock (_lock)
        {
            EnqueueAfterLocked(key, delay);
        }
    }

    /// <summary>Enqueues <paramref name="key"/> after its backoff, and counts one more failure for it.</summary>
    /// <returns>The backoff it waits.</returns>
    public TimeSpan Retry(TKey key) => RetryAndCount(key).Delay;

    /// <summary>Forgets <paramref name="key"/>'s failures, so its next retry waits the base delay again.</summary>
    public void Forget(TKey key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>How many times in a row <paramref name="key"/> has been retried since it was last forgotten.</summary>
    public int Failures(TKey key)
    {
        lock (_lock)
        {
            return _failures.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Processes keys with up to <paramref name="workers"/> calls at once, until <paramref name="cancellationToken"/> is
    /// cancelled; then it waits for the calls under way and returns. A call that throws is logged and its key retried.
    /// </summary>
    public async Task RunAsync(Func<TKey, CancellationToken, Task> process, int workers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("The work queue is already running.");
        }

        try
        {
            var loops = new Task[workers];
            for (var i = 0; i < workers; i++)
            {
                loops[i] = Task.Run(() => WorkAsync(process, cancellationToken), CancellationToken.None);
            }

            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Completes when nothing is ready, nothing is being processed and no delayed key is due; keys waiting for a later
    /// time do not count. Completes at once when that is already so.
    /// </summary>
    public Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (IsIdleLocked())
            {
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _idleWaiters.Add(waiter);
            return waiter.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task WorkAsync(Func<TKey, CancellationToken, Task> process, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await _available.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TKey key;
            lock (_lock)
            {
                key = _ready.Dequeue();
                _dirty.Remove(key);
                _processing[key] = _time.GetTimestamp();
            }

            try
            {
                await process(key, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping, not failing: the key stays as it is for whoever runs the queue next.
            }
            catch (Exception e)
            {
                var (delay, failures) = RetryAndCount(key);
                WorkQueueLog.ProcessFailed(_logger, key.ToString() ?? string.Empty, failures, delay, e);
            }
            finally
            {
                Done(key);
            }
        }
    }

    private void Done(TKey key)
    {
        List<TaskCompletionSource>? idle = null;
        lock (_lock)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key))
            {
                _ready.Enqueue(key);
                _available.Writer.TryWrite(true);
            }

            idle = TakeIdleWaitersLocked();
        }

        Complete(idle);
    }

    private void Fire(TKey key, Delayed delayed)
    {
        lock (_lock)
        {
            // A later EnqueueAfter with an earlier time may have replaced this timer.
            if (!_delayed.TryGetValue(key, out var current) || !ReferenceEquals(current, delayed))
            {
                return;
            }

            _delayed.Remove(key);
            delayed.Timer.Dispose();
            EnqueueLocked(key);
        }
    }

    private void EnqueueLocked(TKey key)
    {
        if (!_dirty.Add(key) || _processing.ContainsKey(key))
        {
            // Already waiting, or being processed and will be queued again when that ends.
            return;
        }

        _ready.Enqueue(key);
        _available.Writer.TryWrite(true);
    }

    /// <summary>Counts a failure and schedules the retry in one step, so whoever sees the count also finds the timer.</summary>
    private (TimeSpan Delay, int Failures) RetryAndCount(TKey key)
    {
        lock (_lock)
        {
            var failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
            var delay = Backoff(failures, _options.BaseDelay, _options.MaxDelay);
            EnqueueAfterLocked(key, delay);
            return (delay, failures + 1);
        }
    }

    private void EnqueueAfterLocked(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            EnqueueLocked(key);
            return;
        }

        var due = _time.GetUtcNow() + delay;
        if (_delayed.TryGetValue(key, out var waiting))
        {
            if (waiting.Due <= due)
            {
                return;
            }

            waiting.Timer.Dispose();
        }

        var delayed = new Delayed(due);
        _delayed[key] = delayed;
        delayed.Timer = _time.CreateTimer(_ => Fire(key, delayed), null, delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The delay of a retry after <paramref name="failures"/> earlier ones: base × 2^failures, capped.</summary>
    internal static TimeSpan Backoff(int failures, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Clamp(failures, 0, 40);
        var ticks = baseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= maxDelay.Ticks ? maxDelay : TimeSpan.FromTicks((long)ticks);
    }

    private bool IsIdleLocked()
    {
        if (_ready.Count > 0 || _processing.Count > 0)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        return _delayed.Values.All(delayed => delayed.Due > now);
    }

    private List<TaskCompletionSource>? TakeIdleWaitersLocked()
    {
        if (_idleWaiters.Count == 0 || !IsIdleLocked())
        {
            return null;
        }

        var waiters = new List<TaskCompletionSource>(_idleWaiters);
        _idleWaiters.Clear();
        return waiters;
    }

    private static void Complete(List<TaskCompletionSource>? waiters)
    {
        foreach (var waiter in waiters ?? [])
        {
            waiter.TrySetResult();
        }
    }

    private sealed class Delayed(DateTimeOffset due)
    {
        public DateTimeOffset Due { get; } = due;

        public ITimer Timer { get; set; } = null!;
    }
}

/// <summary>The work queue's log lines, with stable EventIds 5150–5159.</summary>
internal static partial class WorkQueueLog
{
    [LoggerMessage(EventId = 5150, Level = LogLevel.Warning, Message = "Processing {Key} failed ({Failures} failures in a row); retrying in {Delay}")]
    public static partial void ProcessFailed(ILogger logger, string key, int failures, TimeSpan delay, Exception exception);
}
