namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>How the standalone mode reads and follows its file.</summary>
public sealed record StandaloneOptions
{
    /// <summary>The Services file (Kubernetes YAML).</summary>
    public required string File { get; init; }

    public StandaloneFileOptions Reading { get; init; } = new();

    /// <summary>How often the file is read even without a change notification (some editors and mounts send none).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Quiet time after a notification before reading, so that a save in several writes is read once.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Every problem with these values, naming the option and the value.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(File))
        {
            problems.Add($"file: '{File}' must name the Services file");
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            problems.Add($"{nameof(PollInterval)}: '{PollInterval}' must be positive");
        }

        if (Debounce < TimeSpan.Zero || Debounce >= PollInterval)
        {
            problems.Add($"{nameof(Debounce)}: '{Debounce}' must be from zero to less than the poll interval ({PollInterval})");
        }

        return problems;
    }
}

/// <summary>Where the standalone mode talks to the person who started it: the table of Services, and file problems.</summary>
public sealed record StandaloneConsole(TextWriter Output, TextWriter Error);
