namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>How an informer lists, watches and retries.</summary>
public sealed record InformerOptions
{
    /// <summary>Objects asked for per list page; large clusters are listed in several pages of one snapshot.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>The server-side timeoutSeconds of a watch; the server then ends it and the informer watches again.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A watch that has sent nothing, not even a bookmark, for this long is assumed dead (a connection dropped without a
    /// reset) and started again from the last resourceVersion.
    /// </summary>
    public TimeSpan SilenceTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The wait after the first failure; it doubles with each further failure in a row.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest wait after failures the API server answered (5xx, 429, 403, any other status) and after a
    /// resourceVersion that expires again right after a list: those load a server that is up, so they back off far.
    /// </summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest wait after attempts that got no answer at all (connection refused or reset, DNS, TLS handshake,
    /// timeout). They cost a server that is down nothing, and retrying often is what lets the informer list again
    /// within this long of the server's return, however long it was away. MaxBackoff still applies when shorter.
    /// </summary>
    public TimeSpan UnreachableRetryCap { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Every problem with these values, naming the option and its value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (PageSize <= 0)
        {
            problems.Add($"PageSize: {PageSize} must be positive");
        }

        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            problems.Add($"WatchTimeout: {WatchTimeout} must be at least 1 s");
        }

        if (SilenceTimeout <= TimeSpan.Zero)
        {
            problems.Add($"SilenceTimeout: {SilenceTimeout} must be positive");
        }

        if (InitialBackoff <= TimeSpan.Zero)
        {
            problems.Add($"InitialBackoff: {InitialBackoff} must be positive");
        }

        if (MaxBackoff < InitialBackoff)
        {
            problems.Add($"MaxBackoff: {MaxBackoff} must not be shorter than InitialBackoff ({InitialBackoff})");
        }

        if (UnreachableRetryCap <= TimeSpan.Zero)
        {
            problems.Add($"UnreachableRetryCap: {UnreachableRetryCap} must be positive");
        }

        return problems;
    }
}
