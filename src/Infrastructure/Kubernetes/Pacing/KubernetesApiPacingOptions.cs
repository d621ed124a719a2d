namespace LoadBalancer.Infrastructure.Kubernetes.Pacing;

/// <summary>
/// How fast the daemon may send requests to the API server: a token bucket, as client-go's <c>QPS</c> and <c>Burst</c>.
/// </summary>
/// <remarks>
/// The defaults let a cold start of 5,000 Services write every status within about ten seconds: 5,000 status patches
/// take (5,000 − 1,000 burst) / 500 = 8 s of tokens, and the Events of that start come after them (they wait behind any
/// other request, see <see cref="RequestPriority"/>). client-go's 5/10 would take 17 minutes; an API server that cannot
/// keep up protects itself (API Priority and Fairness answers 429, which the callers retry).
/// </remarks>
public sealed record KubernetesApiPacingOptions
{
    public const double DefaultQps = 500;

    public const int DefaultBurst = 1000;

    /// <summary>Requests per second on average.</summary>
    public double Qps { get; init; } = DefaultQps;

    /// <summary>Requests that may go at once after a quiet spell (the bucket's size).</summary>
    public int Burst { get; init; } = DefaultBurst;

    /// <summary>Every problem, each naming the option and the value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!double.IsFinite(Qps) || Qps <= 0)
        {
            problems.Add($"{nameof(Qps)}: '{Qps}' must be a number above 0");
        }

        if (Burst < 1)
        {
            problems.Add($"{nameof(Burst)}: '{Burst}' must be at least 1");
        }

        return problems;
    }
}
