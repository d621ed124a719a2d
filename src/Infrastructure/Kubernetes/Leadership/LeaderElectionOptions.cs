namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>
/// The Lease that decides which replica owns the addresses. The defaults give a takeover within about 2.3 s of a crash
/// (the lease duration, counted from when a standby saw the last renewal, up to one retry period after it) and at
/// once after a graceful shutdown, which releases the Lease. A leader keeps its addresses while the API server gives
/// no usable answer (errors, timeouts), and stands down only when it reads the Lease held by another replica.
/// </summary>
public sealed record LeaderElectionOptions
{
    public bool Enabled { get; init; } = true;

    public string Namespace { get; init; } = "kube-system";

    public string Name { get; init; } = "little-load-balancer";

    /// <summary>
    /// This replica's name in the Lease (the pod name in a cluster). The default, the host name, stays the same across
    /// restarts, so a restarted replica that finds the Lease in its own name takes it back at once instead of waiting
    /// out its own previous term. Two replicas on one host would share it and both lead: give each its own
    /// <c>--lease-identity</c>.
    /// </summary>
    public string Identity { get; init; } = Environment.MachineName;

    /// <summary>How long a standby waits, after it last saw the Lease change, before it takes the Lease over.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one look at the Lease (a renewal, a read) may take before it counts as unanswered. Shorter than
    /// <see cref="LeaseDuration"/>, so that a renewal that does arrive arrives before the Lease runs out.
    /// </summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>
    /// How often the leader renews (one write) and a standby looks at the Lease (one read). Short, because a standby
    /// learns of a renewal only when it looks, and counts the duration from then.
    /// </summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Every problem with these values, naming the option and its value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Namespace))
        {
            problems.Add($"--lease-namespace: '{Namespace}' must not be empty");
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            problems.Add($"--lease-name: '{Name}' must not be empty");
        }

        if (string.IsNullOrWhiteSpace(Identity))
        {
            problems.Add($"--lease-identity: '{Identity}' must not be empty");
        }

        if (RetryPeriod <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(RetryPeriod)}: '{RetryPeriod}' must be positive");
        }

        if (RenewDeadline <= RetryPeriod)
        {
            problems.Add($"{nameof(RenewDeadline)}: '{RenewDeadline}' must be longer than the retry period ({RetryPeriod})");
        }

        if (LeaseDuration <= RenewDeadline)
        {
            problems.Add($"{nameof(LeaseDuration)}: '{LeaseDuration}' must be longer than the renew deadline ({RenewDeadline})");
        }

        return problems;
    }
}
