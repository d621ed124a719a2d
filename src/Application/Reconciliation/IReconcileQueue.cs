using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// How a source tells the reconciler what to look at again. While this replica does not serve, nothing is queued: a
/// term starts by looking at everything.
/// </summary>
public interface IReconcileQueue
{
    /// <summary>Something about <paramref name="service"/> changed (or may have).</summary>
    void Enqueue(ServiceKey service);

    /// <summary>Anything may have changed (a relist, a node that changes every Service's backends, a new file).</summary>
    void EnqueueAll();

    /// <summary>
    /// As <see cref="EnqueueAll"/>, and the Services parked on a refusal are tried again too: what they waited for may be
    /// there now (the pools were reconfigured).
    /// </summary>
    void RetryAll();

    /// <summary>
    /// Completes when everything queued so far has been reconciled (retries waiting for their time do not count);
    /// at once when no term runs.
    /// </summary>
    Task WhenIdleAsync(CancellationToken cancellationToken);
}

/// <summary>The front of the current term's work queue; the reconciler attaches a queue for each term.</summary>
internal sealed class ReconcileQueue : IReconcileQueue
{
    private volatile Term? _term;
    private long _changes;
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>How many changes the source has told of, in a term or not: a standby compares it to what it last read.</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>Completes at the next change the source tells of.</summary>
    public Task NextChange => Volatile.Read(ref _changed).Task;

    public void Enqueue(ServiceKey service)
    {
        Changed();
        _term?.Queue.Enqueue(service);
    }

    public void EnqueueAll()
    {
        Changed();
        if (_term is { } term)
        {
            foreach (var key in term.Everything())
            {
                term.Queue.Enqueue(key);
            }
        }
    }

    public void RetryAll()
    {
        _term?.Parked.WakeAll();
        EnqueueAll();
    }

    public Task WhenIdleAsync(CancellationToken cancellationToken) =>
        _term?.Queue.WhenIdleAsync(cancellationToken) ?? Task.CompletedTask;

    /// <param name="everything">Every Service the term must look at: the source's and the ones it serves or holds.</param>
    /// <param name="parked">The term's refused Services, which <see cref="RetryAll"/> wakes.</param>
    public void Attach(KeyedWorkQueue<ServiceKey> queue, Func<IEnumerable<ServiceKey>> everything, ParkedServices parked) =>
        _term = new Term(queue, everything, parked);

    public void Detach() => _term = null;

    private void Changed()
    {
        Interlocked.Increment(ref _changes);
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record Term(KeyedWorkQueue<ServiceKey> Queue, Func<IEnumerable<ServiceKey>> Everything, ParkedServices Parked);
}
