namespace LoadBalancer.Domain.Services;

public enum IpSharingMode
{
    /// <summary>Shares an IP with any other <see cref="Shared"/> service whose ports differ (the default).</summary>
    Shared,

    /// <summary>Shares only with services that carry the same sharing key (MetalLB's allow-shared-ip).</summary>
    Keyed,

    /// <summary>Never shares: the IP belongs to this service alone.</summary>
    Exclusive,
}

/// <summary>
/// Which services a service may share its IP with. Two services can hold the same IP only when their sharing values
/// are equal and neither is exclusive.
/// </summary>
public sealed record IpSharing
{
    private IpSharing(IpSharingMode mode, string? key)
    {
        Mode = mode;
        Key = key;
    }

    public static IpSharing Shared { get; } = new(IpSharingMode.Shared, null);

    public static IpSharing Exclusive { get; } = new(IpSharingMode.Exclusive, null);

    public IpSharingMode Mode { get; }

    public string? Key { get; }

    public static IpSharing WithKey(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return new IpSharing(IpSharingMode.Keyed, key);
    }

    public override string ToString() => Mode switch
    {
        IpSharingMode.Keyed => $"sharing key '{Key}'",
        IpSharingMode.Exclusive => "exclusive",
        _ => "shared",
    };
}
