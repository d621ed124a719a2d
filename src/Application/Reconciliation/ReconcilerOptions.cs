namespace LoadBalancer.Application.Reconciliation;

/// <summary>How the reconciler works its queue, retries and stands down.</summary>
public sealed record ReconcilerOptions
{
    /// <summary>
    /// Services reconciled at once (one at a time per Service whatever this is). Applying is serialised by the apply
    /// lock and takes microseconds; what overlaps is each Service's status write, a round trip of about 15 ms to a real
    /// API server on a busy node, so 4 workers capped a cold start at about 260 writes a second: 16 brought 5,000
    /// Services from 18.1 s to 14.2 s (bench/cluster.sh --api real scale, docs/benchmarks.md).
    /// </summary>
    public int Workers { get; init; } = 16;

    /// <summary>The first retry of a failure that may heal (a busy port, an API server away); it doubles per failure.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest wait between retries. Short enough that a port freed by another process is taken within seconds,
    /// long enough that a Service failing for hours costs nothing.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long open connections may drain when the daemon shuts down.</summary>
    public TimeSpan ShutdownDrain { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long open connections may drain when this replica stops serving while the daemon goes on (the Lease went to
    /// another replica, which owns the addresses now).
    /// </summary>
    public TimeSpan HandOverDrain { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Between terms, how long after a change of the source the recorded IPs are read again (a burst of changes, a leader
    /// writing thousands of statuses, is read once); a term that starts reads whatever is newer itself.
    /// </summary>
    public TimeSpan StandbyRereadDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Every problem with these values, naming the option and the value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Workers < 1)
        {
            problems.Add($"{nameof(Workers)}: '{Workers}' must be at least 1");
        }

        if (RetryDelay <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(RetryDelay)}: '{RetryDelay}' must be positive");
        }

        if (MaxRetryDelay < RetryDelay)
        {
            problems.Add($"{nameof(MaxRetryDelay)}: '{MaxRetryDelay}' must not be shorter than {nameof(RetryDelay)} ({RetryDelay})");
        }

        if (ShutdownDrain < TimeSpan.Zero)
        {
            problems.Add($"{nameof(ShutdownDrain)}: '{ShutdownDrain}' must not be negative");
        }

        if (StandbyRereadDelay < TimeSpan.Zero)
        {
            problems.Add($"{nameof(StandbyRereadDelay)}: '{StandbyRereadDelay}' must not be negative");
        }

        if (HandOverDrain < TimeSpan.Zero)
        {
            problems.Add($"{nameof(HandOverDrain)}: '{HandOverDrain}' must not be negative");
        }

        return problems;
    }
}
