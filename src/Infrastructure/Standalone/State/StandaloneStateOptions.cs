namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>Where the standalone state lives; <see cref="StandaloneStatePath.Default"/> gives the usual place.</summary>
public sealed record StandaloneStateOptions
{
    /// <summary>The state file, an absolute path. Its directory is created on the first write.</summary>
    public required string Path { get; init; }
}
