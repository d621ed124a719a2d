namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>
/// How long an informer waits before trying again, from what the API server said, or did not say, since things last
/// worked. Only the informer's loop uses it, one call at a time.
/// </summary>
/// <remarks>
/// <para>Three runs are counted apart, because each says something different about the server. Attempts that got no
/// answer cost a server that is down nothing, so they are retried at most <see cref="InformerOptions.UnreachableRetryCap"/>
/// apart however long it stays away; any answer ends that run, so the wait built up during an outage never delays
/// what follows the server's return. Error answers come from a server that is up and would be loaded by retries, so
/// they back off to <see cref="InformerOptions.MaxBackoff"/> until a good answer. A watch from a fresh list that expires
/// at once means the server keeps saying 410; only a working watch ends that run, since every list in it succeeds.</para>
/// </remarks>
internal sealed class RetryBackoff
{
    private readonly InformerOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly Action<int, TimeSpan> _answeredAgain;
    private int _unanswered;
    private long _unansweredSince;
    private int _errors;
    private int _expiriesAfterList;

    /// <param name="answeredAgain">Told how many attempts in a row got no answer, and for how long, when the server answers again.</param>
    /// <param name="random">0 to 1, for the jitter; <see cref="Random.Shared"/> when null.</param>
    public RetryBackoff(InformerOptions options, TimeProvider time, Action<int, TimeSpan> answeredAgain, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(answeredAgain);
        _options = options;
        _time = time;
        _answeredAgain = answeredAgain;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>Attempts in a row that got no answer, so far.</summary>
    public int Unanswered => _unanswered;

    /// <summary>The longest wait between attempts that get no answer.</summary>
    public TimeSpan UnreachableCap => _options.UnreachableRetryCap < _options.MaxBackoff ? _options.UnreachableRetryCap : _options.MaxBackoff;

    /// <summary>An attempt got no answer: the wait grows only to the unreachable cap.</summary>
    public TimeSpan NoAnswer()
    {
        if (_unanswered++ == 0)
        {
            _unansweredSince = _time.GetTimestamp();
        }

        return Delay(_unanswered, _options.InitialBackoff, UnreachableCap, _random());
    }

    /// <summary>The server answered with an error: the wait grows to <see cref="InformerOptions.MaxBackoff"/>.</summary>
    public TimeSpan ErrorAnswer()
    {
        Answered();
        return Delay(++_errors, _options.InitialBackoff, _options.MaxBackoff, _random());
    }

    /// <summary>A watch from the resourceVersion of a list just made expired before any event.</summary>
    public TimeSpan ExpiredRightAfterList()
    {
        Answered();
        return Delay(++_expiriesAfterList, _options.InitialBackoff, _options.MaxBackoff, _random());
    }

    /// <summary>
    /// The server answered as it should (a list, or a 410 for a version that aged while away): earlier error answers
    /// are forgiven, expiries right after lists are not.
    /// </summary>
    public void GoodAnswer()
    {
        Answered();
        _errors = 0;
    }

    /// <summary>A watch works (it delivered an event or ran its course): everything is forgiven.</summary>
    public void WatchWorks()
    {
        GoodAnswer();
        _expiriesAfterList = 0;
    }

    /// <summary>
    /// The wait before retrying after <paramref name="failures"/> failures in a row: the initial backoff doubled per
    /// further failure, capped, and then scaled by <paramref name="random"/> (0 to 1) into its upper half, so replicas
    /// that failed together do not retry together.
    /// </summary>
    internal static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double random)
    {
        var exponent = Math.Clamp(failures - 1, 0, 30);
        var ceiling = Math.Min(max.Ticks, initial.Ticks * (1L << exponent));
        return TimeSpan.FromTicks((long)(ceiling * (0.5 + (Math.Clamp(random, 0, 1) / 2))));
    }

    private void Answered()
    {
        if (_unanswered > 0)
        {
            var attempts = _unanswered;
            _unanswered = 0;
            _answeredAgain(attempts, _time.GetElapsedTime(_unansweredSince));
        }
    }
}
