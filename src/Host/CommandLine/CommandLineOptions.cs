namespace LoadBalancer.Host.CommandLine;

public enum RunMode
{
    Help,
    Version,
    CheckPool,
}

/// <summary>What the command line asked for, after parsing.</summary>
public sealed record CommandLineOptions
{
    public RunMode Mode { get; init; } = RunMode.Help;

    /// <summary>The pool (<c>--restricted-cidr</c>): CIDRs, ranges or addresses, comma-separated.</summary>
    public string RestrictedCidr { get; init; } = Application.Allocation.AllocationOptions.DefaultPool;

    /// <summary>Addresses never handed out (<c>--exclude</c>).</summary>
    public string? Exclude { get; init; }
}

public sealed record CommandLineParseResult(CommandLineOptions? Options, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Errors.Count == 0 && Options is not null;
}
