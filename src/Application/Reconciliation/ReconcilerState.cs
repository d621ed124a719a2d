using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// What the reconciler's current term knows, for those who show the daemon's state (the state dump, the status page).
/// Apart from <see cref="IServiceReconciler"/> so that a reader needs neither a source nor a queue to be composed.
/// </summary>
public interface IReconcilerState
{
    /// <summary>Whether a term runs: this replica serves.</summary>
    bool IsServing { get; }

    /// <summary>Services waiting for a reconcile in the current term (0 while no term runs).</summary>
    int Queued { get; }

    /// <summary>The Service whose reconcile has run longest now, and for how long; null when none runs.</summary>
    (ServiceKey Service, TimeSpan For)? LongestReconcile();

    /// <summary>
    /// The Services the current term does not serve as asked (refused, invalid, failing, not reconciled yet), with why,
    /// ordered by namespace and name; empty while no term runs. What runs is the applied-Service registry's to tell.
    /// </summary>
    IReadOnlyList<UnservedService> Unserved();
}

/// <summary>Points at the running term's own bookkeeping (<see cref="TermState"/>) and copies none of it.</summary>
internal sealed class ReconcilerState(IAppliedServiceRegistry applied) : IReconcilerState
{
    private volatile Term? _term;

    public bool IsServing => _term is not null;

    public int Queued => _term?.State.Queue.Count ?? 0;

    public (ServiceKey Service, TimeSpan For)? LongestReconcile() => _term?.State.Queue.LongestRunning();

    public void Enter(TermState state, IServiceSource source) => _term = new Term(state, source);

    public void Leave() => _term = null;

    public IReadOnlyList<UnservedService> Unserved()
    {
        if (_term is not { } term)
        {
            return [];
        }

        // A failure being retried wins over a parking it may have outlived (the spec changed and now fails otherwise).
        var found = new SortedDictionary<ServiceKey, UnservedService>();
        foreach (var (key, reason) in term.State.Failing)
        {
            found[key] = new UnservedService(key, UnservedKind.Failing, reason, term.Source.Find(key)?.Spec);
        }

        foreach (var parked in term.State.Parked.Describe())
        {
            found.TryAdd(parked.Service, parked);
        }

        foreach (var key in term.Source.Keys())
        {
            if (!found.ContainsKey(key) && applied.Find(key) is null)
            {
                found[key] = new UnservedService(key, UnservedKind.Pending, null, term.Source.Find(key)?.Spec);
            }
        }

        return [.. found.Values];
    }

    private sealed record Term(TermState State, IServiceSource Source);
}
