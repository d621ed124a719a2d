namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>How a newly added address is announced to the link (gratuitous ARP for IPv4, unsolicited NA for IPv6).</summary>
public sealed record AnnouncementOptions
{
    public bool Enabled { get; init; } = true;

    /// <summary>Frames per address; more than one because a single frame can be lost while a switch relearns.</summary>
    public int Count { get; init; } = 3;

    /// <summary>Pause between two frames of the same announcement.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);
}
