using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Infrastructure.Admin;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using System.Globalization;
using LoadBalancer.Infrastructure.Kubernetes.Pacing;
using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Host.Configuration;

/// <summary>
/// The configuration of the daemon as written (text, bound from <see cref="IConfiguration"/>, so that binding never
/// fails), checked by <see cref="DaemonSettingsValidator"/>, then read through the typed accessors below, from which each
/// layer's options are derived. The keys and their defaults are in docs/configuration.md.
/// </summary>
/// <remarks>
/// The properties have setters, not <c>init</c>: the binding is generated at compile time
/// (<c>EnableConfigurationBindingGenerator</c>, so that the native forwarder binds without reflection), and the generator
/// silently leaves <c>init</c> properties unbound. Nothing sets them after binding.
/// </remarks>
public sealed record DaemonSettings
{
    public string? Kubeconfig { get; set; }

    public string? Kubernetes { get; set; }

    public string? LinkDevice { get; set; }

    public string? RestrictedCidr { get; set; }

    public string? Exclude { get; set; }

    public string? TagWorkerNodes { get; set; }

    public string? Debug { get; set; }

    public string? LogFormat { get; set; }

    public string? DrainTimeout { get; set; }

    public string? Engine { get; set; }

    public string? Policy { get; set; }

    public string? Announce { get; set; }

    public string? StateFile { get; set; }

    public string? LoadBalancerClass { get; set; }

    public string? IgnoreUnclassed { get; set; }

    public string? Backends { get; set; }

    public string? WorkerSelector { get; set; }

    public string? NodeAddressTypes { get; set; }

    public string? SetExternalIps { get; set; }

    public string? KubeApiQps { get; set; }

    public string? KubeApiBurst { get; set; }

    public string? AdminAddress { get; set; }

    public LeaderElectionSettings LeaderElection { get; set; } = new();

    /// <summary>The named pools (<c>pools</c>, docs/configuration.md).</summary>
    public IReadOnlyList<PoolSettings> Pools { get; set; } = [];

    /// <summary>
    /// Whether <see cref="RestrictedCidr"/> is only the built-in default: with named pools configured, that default is
    /// not a pool of its own (set from where the value came from, not bound).
    /// </summary>
    internal bool RestrictedCidrIsDefault { get; init; }

    public static DaemonSettings From(LoadedConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return From(configuration.Root) with { RestrictedCidrIsDefault = configuration.IsDefault(Settings.RestrictedCidr) };
    }

    public static DaemonSettings From(IConfiguration configuration) =>
        configuration.Get<DaemonSettings>() ?? new DaemonSettings();

    public bool IsDebug => Switch(Debug, false);

    public TimeSpan Drain => ConfigurationLayers.TryParseDuration(DrainTimeout, out var drain) ? drain : TimeSpan.FromSeconds(10);

    public LogFormat Format => LogFormat?.Trim().ToLowerInvariant() switch
    {
        "json" => Configuration.LogFormat.Json,
        "systemd" => Configuration.LogFormat.Systemd,
        _ => Configuration.LogFormat.Text,
    };

    /// <summary>The engine named by <see cref="Engine"/>; io_uring when none is (an unknown name is refused at start by validation).</summary>
    public ForwardingEngine ForwardingEngine => TryParseEngine(Engine, out var engine) ? engine : ForwardingEngine.IoUring;

    /// <summary>io_uring (or uring), splice, copy; any case, surrounding blanks ignored. Null or blank is not a name.</summary>
    internal static bool TryParseEngine(string? text, out ForwardingEngine engine)
    {
        engine = ForwardingEngine.IoUring;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "io_uring" or "uring" or "iouring":
                return true;
            case "splice":
                engine = ForwardingEngine.Splice;
                return true;
            case "copy":
                engine = ForwardingEngine.Copy;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The name the configuration uses for an engine (io_uring, splice, copy).</summary>
    public static string EngineName(ForwardingEngine engine) => engine switch
    {
        ForwardingEngine.IoUring => "io_uring",
        _ => engine.ToString().ToLowerInvariant(),
    };

    public string BalancingPolicy => string.IsNullOrWhiteSpace(Policy) ? Application.Forwarding.LoadBalancingPolicyNames.Default : Policy.Trim();

    public bool Announces => Switch(Announce, true);

    public bool ServesUnclassed => !Switch(IgnoreUnclassed, false);

    public bool TagsWorkerNodes => Switch(TagWorkerNodes, false);

    public bool SetsExternalIps => Switch(SetExternalIps, false);

    /// <summary>
    /// The unnamed pool <c>default</c> (<c>restrictedCidr</c>, <c>exclude</c>) and the named pools. With named pools and
    /// no <c>restrictedCidr</c> in any layer, there is no default pool.
    /// </summary>
    public AllocationOptions Allocation() => new()
    {
        Pool = string.IsNullOrWhiteSpace(RestrictedCidr) ? (Pools.Count > 0 ? null : AllocationOptions.DefaultPool)
            : RestrictedCidrIsDefault && Pools.Count > 0 ? null
            : RestrictedCidr,
        Excluded = string.IsNullOrWhiteSpace(Exclude) ? null : Exclude,
        Pools = [.. Pools.Select(pool => pool.ToOptions())],
    };

    /// <summary>How fast the API client may send (validated at start: an unparsable value is refused before this is read).</summary>
    public KubernetesApiPacingOptions ApiPacing() => new()
    {
        Qps = TryParseQps(KubeApiQps, out var qps) ? qps : KubernetesApiPacingOptions.DefaultQps,
        Burst = TryParseBurst(KubeApiBurst, out var burst) ? burst : KubernetesApiPacingOptions.DefaultBurst,
    };

    /// <summary>A number of requests per second above 0 (a fraction is allowed, as client-go's float32 QPS).</summary>
    internal static bool TryParseQps(string? text, out double qps) =>
        double.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out qps) && double.IsFinite(qps) && qps > 0;

    /// <summary>A whole number of requests, at least 1.</summary>
    internal static bool TryParseBurst(string? text, out int burst) =>
        int.TryParse(text?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out burst) && burst >= 1;

    public ForwarderOptions Forwarder() => new() { Engine = ForwardingEngine };

    public AnnouncementOptions Announcements() => new() { Enabled = Announces };

    /// <summary>Where the admin endpoint listens (validated at start: an unparsable value is refused before this is read).</summary>
    public AdminOptions Admin() =>
        new(Infrastructure.Admin.AdminAddress.TryParse(AdminAddress ?? Infrastructure.Admin.AdminAddress.Default, out var endPoint, out _) ? endPoint : null);

    /// <summary>Connections drain for <see cref="Drain"/> when the daemon stops.</summary>
    public ReconcilerOptions Reconciler() => new() { ShutdownDrain = Drain };

    /// <summary>
    /// The device for the addresses over rtnetlink: the one named, the default route's for <c>auto</c>; null (the
    /// loopback device, which needs no address) when none is set, or when <c>auto</c> is only the default and the pool
    /// lies inside 127/8 and ::1.
    /// </summary>
    public LinkDeviceOptions? LinkDeviceOptions(bool deviceIsDefault)
    {
        if (string.IsNullOrWhiteSpace(LinkDevice))
        {
            return null;
        }

        if (deviceIsDefault && RestrictedCidr is { } pool
            && pool.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).All(IsLoopbackEntry))
        {
            return null;
        }

        var device = LinkDevice.Trim();
        return new LinkDeviceOptions { DeviceName = string.Equals(device, "auto", StringComparison.OrdinalIgnoreCase) ? null : device };
    }

    /// <summary>A pool entry inside 127/8, or ::1 alone: the addresses the loopback device answers on.</summary>
    private static bool IsLoopbackEntry(string entry) =>
        entry.StartsWith("127.", StringComparison.Ordinal) || entry is "::1" or "::1/128";

    internal static bool Switch(string? text, bool fallback) => ConfigurationLayers.TryParseBool(text, out var value) ? value : fallback;
}

/// <summary>The <c>leaderElection</c> section.</summary>
public sealed record LeaderElectionSettings
{
    public string? Enabled { get; set; }

    public string? Namespace { get; set; }

    public string? Name { get; set; }

    public string? Identity { get; set; }

    public bool IsEnabled => DaemonSettings.Switch(Enabled, true);
}

public enum LogFormat
{
    Text,
    Json,
    Systemd,
}

/// <summary>One entry of <c>pools</c>, as written (text, so that binding never fails; the validator names mistakes).</summary>
public sealed record PoolSettings
{
    public string? Name { get; set; }

    public IReadOnlyList<string> Addresses { get; set; } = [];

    public IReadOnlyList<string> Exclude { get; set; } = [];

    public IReadOnlyList<string> Namespaces { get; set; } = [];

    public string? ServiceSelector { get; set; }

    public string? AutoAssign { get; set; }

    public PoolOptions ToOptions() => new()
    {
        Name = Name ?? "",
        Addresses = Addresses,
        Exclude = Exclude,
        Namespaces = Namespaces,
        ServiceSelector = string.IsNullOrWhiteSpace(ServiceSelector) ? null : ServiceSelector,
        AutoAssign = DaemonSettings.Switch(AutoAssign, true),
    };
}
