namespace LoadBalancer.Application.Abstractions;

/// <summary>
/// Decides when this replica serves: a Lease among replicas in a cluster, always for a single daemon.
/// </summary>
public interface ILeadership
{
    /// <summary>
    /// Runs <paramref name="lead"/> each time this replica becomes the one that serves, with a token that is cancelled
    /// when it stops being so (or when <paramref name="stopping"/> is); <paramref name="lead"/> must stand down before it
    /// returns. Returns once <paramref name="stopping"/> is cancelled and the last term has ended; cancellation is a stop,
    /// never an exception.
    /// </summary>
    Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken stopping);
}
