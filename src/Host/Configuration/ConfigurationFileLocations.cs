namespace LoadBalancer.Host.Configuration;

/// <summary>
/// Where a configuration file is looked for when none is named (the original's places), first found wins:
/// <c>$AUTOCFG_FILENAME</c>, /etc/little-load-balancer/config.yaml and .json, ~/.config/little-load-balancer/config.yaml
/// and .json, ./config.json. The directories are properties so that tests look in their own.
/// </summary>
public sealed record ConfigurationFileLocations
{
    public const string AutoConfigVariable = "AUTOCFG_FILENAME";

    public string SystemDirectory { get; init; } = "/etc/little-load-balancer";

    /// <summary>The user's directory; null takes <c>$HOME</c> from the environment given.</summary>
    public string? HomeDirectory { get; init; }

    /// <summary>Where <c>./config.json</c> is; null is the working directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Every place, in order, with the reason it is looked at.</summary>
    public IReadOnlyList<string> Candidates(IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var candidates = new List<string>();
        if (environment.GetValueOrDefault(AutoConfigVariable) is { Length: > 0 } auto)
        {
            candidates.Add(Path.GetFullPath(auto));
        }

        candidates.Add(Path.Combine(SystemDirectory, "config.yaml"));
        candidates.Add(Path.Combine(SystemDirectory, "config.json"));
        var home = HomeDirectory ?? environment.GetValueOrDefault("HOME");
        if (!string.IsNullOrEmpty(home))
        {
            candidates.Add(Path.Combine(home, ".config", "little-load-balancer", "config.yaml"));
            candidates.Add(Path.Combine(home, ".config", "little-load-balancer", "config.json"));
        }

        candidates.Add(Path.Combine(WorkingDirectory ?? Directory.GetCurrentDirectory(), "config.json"));
        return candidates;
    }

    /// <summary>The first candidate that exists; null when none does.</summary>
    public string? Find(IReadOnlyDictionary<string, string?> environment) => Candidates(environment).FirstOrDefault(File.Exists);
}
