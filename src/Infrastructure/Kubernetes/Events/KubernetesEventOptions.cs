namespace LoadBalancer.Infrastructure.Kubernetes.Events;

public sealed record KubernetesEventOptions
{
    /// <summary>Names this controller on every Event (<c>reportingController</c>).</summary>
    public string ReportingController { get; init; } = "littlelb.io/load-balancer";

    /// <summary>Names this daemon among its replicas (<c>reportingInstance</c>); at most 128 characters.</summary>
    public string ReportingInstance { get; init; } = Environment.MachineName;

    /// <summary>
    /// How long writing one Event may take. The writers are few, and an API server that hangs must not hold one of
    /// them for the HTTP client's own timeout.
    /// </summary>
    public TimeSpan CreateTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Events waiting to be written. A cold start of 5,000 Services records 5,000 at once; a full backlog makes the
    /// reconciler wait for room rather than lose Events.
    /// </summary>
    public int Backlog { get; init; } = 10_000;

    /// <summary>Events written at the same time.</summary>
    public int Writers { get; init; } = 4;

    /// <summary>
    /// An identical Event recorded again within this time of the last one counts in that Event's <c>series</c> instead
    /// of making a new Event: client-go's events broadcaster closes a series after 6 minutes without a repeat.
    /// </summary>
    public TimeSpan SeriesWindow { get; init; } = TimeSpan.FromMinutes(6);

    /// <summary>How long the Events still waiting at shutdown may take to be written before they are dropped.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Every problem, each naming the option and the value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Backlog < 1)
        {
            problems.Add($"Events.{nameof(Backlog)}: '{Backlog}' must be at least 1");
        }

        if (Writers < 1)
        {
            problems.Add($"Events.{nameof(Writers)}: '{Writers}' must be at least 1");
        }

        foreach (var (name, value) in new[] { (nameof(CreateTimeout), CreateTimeout), (nameof(FlushTimeout), FlushTimeout), (nameof(SeriesWindow), SeriesWindow) })
        {
            if (value < TimeSpan.Zero)
            {
                problems.Add($"Events.{name}: '{value}' must not be negative");
            }
        }

        return problems;
    }
}
