namespace LoadBalancer.Infrastructure.Kubernetes.Pacing;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>: <c>qps</c> tokens a second, at most <c>burst</c> saved up. Waiters are
/// served in order, every <see cref="RequestPriority.Normal"/> one before any <see cref="RequestPriority.Background"/>
/// one. A request takes its token when it starts and gives nothing back, so a long watch holds nothing while open.
/// </summary>
/// <remarks>
/// Ours rather than System.Threading.RateLimiting's TokenBucketRateLimiter: that one replenishes on its own timer and
/// clock (not a TimeProvider, so tests would sleep) and knows no priorities.
/// </remarks>
internal sealed class ApiTokenBucket : IDisposable
{
    private readonly TimeProvider _time;
    private readonly double _qps;
    private readonly double _burst;
    private readonly Lock _lock = new();
    private readonly Queue<Waiter>[] _waiting = [new(), new()];
    private readonly ITimer _timer;
    private double _tokens;
    private long _refilledAt;
    private bool _timerSet;

    public ApiTokenBucket(KubernetesApiPacingOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _qps = options.Qps;
        _burst = options.Burst;
        _tokens = _burst;
        _refilledAt = time.GetTimestamp();
        _timer = time.CreateTimer(_ => Grant(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Requests waiting for a token now (for tests and the state dump).</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting[0].Count + _waiting[1].Count;
            }
        }
    }

    /// <summary>Completes when the caller may send one request.</summary>
    public Task AcquireAsync(RequestPriority priority, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_lock)
        {
            Refill();
            // Nobody may overtake a waiter of the same or a higher priority.
            var ahead = priority == RequestPriority.Normal ? _waiting[0].Count : _waiting[0].Count + _waiting[1].Count;
            if (ahead == 0 && _tokens >= 1)
            {
                _tokens--;
                return Task.CompletedTask;
            }

            waiter = new Waiter();
            _waiting[(int)priority].Enqueue(waiter);
            ScheduleGrant();
        }

        if (cancellationToken.CanBeCanceled)
        {
            // A cancelled waiter stays queued and is skipped when its turn comes: it took no token.
            waiter.Registration = cancellationToken.Register(
                static state => ((Waiter)state!).Completion.TrySetCanceled(), waiter);
            if (waiter.Completion.Task.IsCompleted)
            {
                // Granted before the registration existed: Grant could not dispose it.
                waiter.Registration.Dispose();
            }
        }

        return waiter.Completion.Task;
    }

    public void Dispose() => _timer.Dispose();

    private void Grant()
    {
        List<Waiter> granted = [];
        lock (_lock)
        {
            _timerSet = false;
            Refill();
            foreach (var queue in _waiting)
            {
                while (queue.TryPeek(out var next))
                {
                    if (next.Completion.Task.IsCompleted)
                    {
                        queue.Dequeue();
                        continue;
                    }

                    if (_tokens < 1)
                    {
                        break;
                    }

                    _tokens--;
                    granted.Add(queue.Dequeue());
                }
            }

            ScheduleGrant();
        }

        // Outside the lock: the continuations run the callers' requests.
        foreach (var waiter in granted)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetResult();
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(_burst, _tokens + (_time.GetElapsedTime(_refilledAt, now).TotalSeconds * _qps));
        _refilledAt = now;
    }

    /// <summary>Sets the timer for when the next token is due, if anyone waits and it is not set already.</summary>
    private void ScheduleGrant()
    {
        if (_timerSet || (_waiting[0].Count == 0 && _waiting[1].Count == 0))
        {
            return;
        }

        var due = TimeSpan.FromSeconds(Math.Max(0, 1 - _tokens) / _qps);
        _timer.Change(due < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : due, Timeout.InfiniteTimeSpan);
        _timerSet = true;
    }

    private sealed class Waiter
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }
}
