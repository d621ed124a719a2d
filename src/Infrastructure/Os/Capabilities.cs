using System.Globalization;

namespace LoadBalancer.Infrastructure.Os;

/// <summary>The Linux capabilities the daemon needs, by their number in linux/capability.h.</summary>
public enum LinuxCapability
{
    NetBindService = 10,
    NetAdmin = 12,
    NetRaw = 13,
}

/// <summary>
/// A capability set as a 64-bit mask, read from the <c>CapEff:</c> line of /proc/[pid]/status (what capget(2) answers,
/// in a form a test can read from another process).
/// </summary>
public readonly record struct CapabilitySet(ulong Mask)
{
    public bool Has(LinuxCapability capability) => (Mask & (1UL << (int)capability)) != 0;

    /// <summary>The effective set of this process.</summary>
    public static CapabilitySet? OfThisProcess()
    {
        try
        {
            return FromStatus(File.ReadAllText("/proc/self/status"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The effective set in the text of a /proc/[pid]/status file; null when it has no readable CapEff line.</summary>
    public static CapabilitySet? FromStatus(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal))
            {
                return ulong.TryParse(line.AsSpan("CapEff:".Length).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var mask)
                    ? new CapabilitySet(mask)
                    : null;
            }
        }

        return null;
    }
}

/// <summary>How a capability is named and granted, in the words the messages use.</summary>
public static class CapabilityText
{
    public static string Name(LinuxCapability capability) => capability switch
    {
        LinuxCapability.NetBindService => "CAP_NET_BIND_SERVICE",
        LinuxCapability.NetAdmin => "CAP_NET_ADMIN",
        LinuxCapability.NetRaw => "CAP_NET_RAW",
        _ => $"capability {(int)capability}",
    };

    /// <summary>The three ways to grant it: a file capability, the systemd unit, the Kubernetes pod spec.</summary>
    public static string HowToGrant(LinuxCapability capability)
    {
        var name = Name(capability);
        var shortName = name["CAP_".Length..];
        return $"grant it with `setcap {name.ToLowerInvariant()}+ep BINARY`, `AmbientCapabilities={name}` "
            + $"(and `CapabilityBoundingSet=`) in the systemd unit, or `securityContext.capabilities.add: [\"{shortName}\"]` in the pod spec; "
            + "or run as root";
    }
}
