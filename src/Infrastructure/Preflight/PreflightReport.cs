namespace LoadBalancer.Infrastructure.Preflight;

/// <summary>One thing that stops the daemon from serving: what is wrong (naming the setting or capability) and how to fix it.</summary>
public sealed record PreflightProblem(string Subject, string Problem, string Fix)
{
    /// <summary>"--link-device 'eth9': no such device; devices here: eth0, br0".</summary>
    public override string ToString() => $"{Subject}: {Problem}; {Fix}";
}

/// <summary>Every problem the start-up checks found, all at once; none means the daemon may start serving.</summary>
public sealed record PreflightReport(IReadOnlyList<PreflightProblem> Problems)
{
    public bool Passed => Problems.Count == 0;

    /// <summary>One problem per line, for the log line or the terminal before exiting with 1.</summary>
    public override string ToString() => string.Join(Environment.NewLine, Problems);
}
