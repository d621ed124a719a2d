namespace LoadBalancer.Infrastructure.Preflight;

/// <summary>What the daemon is about to do, as far as the start-up checks need to know it.</summary>
public sealed record PreflightRequest
{
    /// <summary>The <c>autodetect</c> value of <c>--link-device</c>: the device is chosen, not named.</summary>
    public const string AutoDetect = "auto";

    /// <summary>
    /// The device load-balancer addresses go on (<c>--link-device</c>); <see cref="AutoDetect"/> when the daemon picks
    /// one; null when no address goes on any link (a standalone pool inside 127/8 is served from loopback).
    /// </summary>
    public string? LinkDevice { get; init; }

    /// <summary>Gratuitous ARP / unsolicited NA after adding an address; only meaningful with a <see cref="LinkDevice"/>.</summary>
    public bool Announce { get; init; }

    /// <summary>The lowest port a listener will bind, when known before serving (standalone); null when not (cluster mode).</summary>
    public int? LowestPort { get; init; }
}
