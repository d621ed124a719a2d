namespace LoadBalancer.Application.Services;

/// <summary>How applying and removing Services treats listeners.</summary>
public sealed record ServiceOptions
{
    /// <summary>How long a stopped listener lets open connections finish before closing them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
