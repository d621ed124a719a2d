namespace LoadBalancer.Application.Allocation;

/// <summary>The pool the allocator hands out from.</summary>
public sealed record AllocationOptions
{
    /// <summary>The original's default restricted CIDR.</summary>
    public const string DefaultPool = "192.168.0.224/28";

    /// <summary>Comma-separated CIDRs, <c>first-last</c> ranges or single addresses.</summary>
    public string Pool { get; init; } = DefaultPool;

    /// <summary>Comma-separated addresses, CIDRs or ranges never handed out.</summary>
    public string? Excluded { get; init; }
}
