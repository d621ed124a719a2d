namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>
/// A run of looks at the Lease that got no usable answer. It decides which of them are worth a log line: the first,
/// each one whose failure differs from the one before, and (through <see cref="End"/>) the first answer after them, so
/// that an API server down for an hour costs a handful of lines, not four a second.
/// </summary>
internal sealed class UnusableAnswerRun
{
    public int Looks { get; private set; }

    /// <summary>The failure of the latest look in the run, e.g. "HTTP 401" or "timeout"; null outside a run.</summary>
    public string? Failure { get; private set; }

    /// <summary>The failure before the latest one, when <see cref="Add"/> returned <see cref="RunStep.Changed"/>.</summary>
    public string? PreviousFailure { get; private set; }

    public RunStep Add(LeaseAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        PreviousFailure = Failure;
        Failure = answer.Failure;
        Looks++;
        return PreviousFailure is null ? RunStep.Started
            : PreviousFailure == Failure ? RunStep.Repeated
            : RunStep.Changed;
    }

    /// <summary>Ends the run on a usable answer.</summary>
    /// <returns>How many looks it lasted; 0 when there was no run.</returns>
    public int End()
    {
        var looks = Looks;
        Looks = 0;
        Failure = null;
        PreviousFailure = null;
        return looks;
    }
}

internal enum RunStep
{
    Started,
    Repeated,
    Changed,
}
