namespace LoadBalancer.Application.Allocation;

/// <summary>The pools the allocator hands out from: the unnamed pool <c>default</c> and the named ones.</summary>
public sealed record AllocationOptions
{
    /// <summary>The original's default restricted CIDR.</summary>
    public const string DefaultPool = "192.168.0.224/28";

    /// <summary>
    /// The pool <c>default</c> (<c>restrictedCidr</c>): comma-separated CIDRs, <c>first-last</c> ranges or single
    /// addresses. Null: no default pool, only <see cref="Pools"/>.
    /// </summary>
    public string? Pool { get; init; } = DefaultPool;

    /// <summary>Comma-separated addresses, CIDRs or ranges of the pool <c>default</c> never handed out.</summary>
    public string? Excluded { get; init; }

    /// <summary>The named pools, tried in this order after <c>default</c> by a Service that asks for none.</summary>
    public IReadOnlyList<PoolOptions> Pools { get; init; } = [];
}

/// <summary>A named pool (MetalLB's IPAddressPool), as the configuration file writes it under <c>pools</c>.</summary>
public sealed record PoolOptions
{
    /// <summary>A DNS label, unique, not <c>default</c>; Services ask for it with <c>littlelb.io/pool</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>CIDRs, <c>first-last</c> ranges or single addresses, IPv4 or IPv6.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>Addresses, CIDRs or ranges never handed out.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Only Services of these namespaces may use the pool; empty: every namespace.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>A Kubernetes label selector the Service's labels must match; null or empty: every Service.</summary>
    public string? ServiceSelector { get; init; }

    /// <summary>False: only Services that ask for the pool (by name or by an address in it) get addresses from it.</summary>
    public bool AutoAssign { get; init; } = true;
}
