namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>Which device carries the load-balancer addresses (<c>--link-device</c>).</summary>
public sealed record LinkDeviceOptions
{
    /// <summary>The device name; null picks one (see <see cref="LinkDeviceSelector"/>) and logs why.</summary>
    public string? DeviceName { get; init; }

    /// <summary>Put held addresses back when someone else removes them or the device comes back up.</summary>
    public bool RestoreRemovedAddresses { get; init; } = true;
}
