using System.Globalization;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Pacing;
using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Host.Configuration;

/// <summary>Which defaults apply: the standalone mode has its own pool and no link device.</summary>
public enum DaemonMode
{
    Cluster,
    Standalone,
    Forward,
    DemoBackend,
}

/// <summary>A flag given on the command line, as the user spelled it (<c>--linkdevice</c> or <c>--link-device</c>).</summary>
public sealed record FlagValue(string? Value, string Flag);

/// <summary>What one configuration is built from: everything but the defaults comes from outside the process's code.</summary>
public sealed record ConfigurationInputs
{
    public DaemonMode Mode { get; init; } = DaemonMode.Cluster;

    /// <summary>The flags actually given, by configuration key.</summary>
    public IReadOnlyDictionary<string, FlagValue> Flags { get; init; } = new Dictionary<string, FlagValue>();

    /// <summary><c>--config FILE</c>.</summary>
    public string? ConfigFile { get; init; }

    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public ConfigurationFileLocations Locations { get; init; } = new();

    /// <summary>Whether the process runs under systemd (the log format's default).</summary>
    public bool UnderSystemd { get; init; }

    public static IReadOnlyDictionary<string, string?> ProcessEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(entry => (string)entry.Key, entry => (string?)entry.Value, StringComparer.Ordinal);
}

/// <summary>One configuration, layered: defaults &lt; file &lt; environment &lt; flags.</summary>
/// <param name="File">The configuration file read; null when there was none.</param>
/// <param name="FileReason">How the file was found (<c>--config</c>, <c>$LITTLELB_CONFIG</c>, <c>$AUTOCFG_FILENAME</c>, a
/// well-known place), or which places were looked at when none was.</param>
public sealed record LoadedConfiguration(IConfigurationRoot Root, string? File, string FileReason)
{
    public string? Source(string key) => ValueSources.Describe(Root, key);

    public bool IsDefault(string key) => ValueSources.IsDefault(Root, key);
}

public static class ConfigurationLayers
{
    public const string StandalonePool = "127.0.100.0/24";

    /// <exception cref="ConfigurationFileException">The file named cannot be found, read or parsed.</exception>
    public static LoadedConfiguration Load(ConfigurationInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var (file, reason) = ChooseFile(inputs);
        var upper = new ConfigurationBuilder();
        if (file is not null)
        {
            upper.Add(file.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? new JsonFileConfigurationSource(file)
                : new YamlConfigurationSource(file));
        }

        upper.Add(new EnvironmentConfigurationSource(inputs.Environment));
        upper.Add(new LayerConfigurationSource(
            inputs.Flags.ToDictionary(flag => flag.Key, flag => flag.Value.Value, StringComparer.OrdinalIgnoreCase),
            key => inputs.Flags.TryGetValue(key, out var flag) ? $"flag {flag.Flag}" : "flag"));
        var given = upper.Build();

        var builder = new ConfigurationBuilder();
        builder.Add(new LayerConfigurationSource(Defaults(inputs, given), _ => ValueSources.Default));
        foreach (var source in upper.Sources)
        {
            builder.Add(source);
        }

        return new LoadedConfiguration(builder.Build(), file, reason);
    }

    /// <summary>The built-in values of every key that has one (docs/configuration.md).</summary>
    public static Dictionary<string, string?> Defaults(ConfigurationInputs inputs, IConfiguration given)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(given);
        var election = new LeaderElectionOptions();
        var defaults = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            [Settings.Kubernetes] = inputs.Mode == DaemonMode.Cluster ? "true" : "false",
            [Settings.TagWorkerNodes] = "false",
            [Settings.Debug] = "false",
            [Settings.LogFormat] = inputs.UnderSystemd ? "systemd" : "text",
            [Settings.DrainTimeout] = "10s",
            [Settings.Engine] = "io_uring",
            [Settings.Policy] = LoadBalancingPolicyNames.Default,
            [Settings.Announce] = "true",
            [Settings.IgnoreUnclassed] = "false",
            [Settings.WorkerSelector] = KubernetesServiceOptions.DefaultWorkerSelector,
            [Settings.NodeAddressTypes] = string.Join(',', new KubernetesServiceOptions().AddressTypes),
            [Settings.SetExternalIps] = "false",
            [Settings.KubeApiQps] = KubernetesApiPacingOptions.DefaultQps.ToString(CultureInfo.InvariantCulture),
            [Settings.KubeApiBurst] = KubernetesApiPacingOptions.DefaultBurst.ToString(CultureInfo.InvariantCulture),
            [Settings.AdminAddress] = LoadBalancer.Infrastructure.Admin.AdminAddress.Default,
            [Settings.LeaderElectionEnabled] = "true",
            [Settings.LeaderElectionNamespace] = election.Namespace,
            [Settings.LeaderElectionName] = election.Name,
            [Settings.LeaderElectionIdentity] = election.Identity,
        };

        // Named pools without --restricted-cidr anywhere: no unnamed pool "default" (the contract of issue 11).
        if (!given.GetSection(Settings.Pools).GetChildren().Any())
        {
            defaults[Settings.RestrictedCidr] = inputs.Mode == DaemonMode.Standalone ? StandalonePool : AllocationOptions.DefaultPool;
        }

        if (inputs.Mode != DaemonMode.Standalone)
        {
            defaults[Settings.LinkDevice] = "auto";
        }

        return defaults;
    }

    /// <summary>Seconds as a plain number, or a number with ms, s, m or h, or TimeSpan text (00:00:10).</summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && number >= 0 && number * scale < TimeSpan.MaxValue.TotalSeconds)
            {
                duration = TimeSpan.FromSeconds(number * scale);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            && seconds < TimeSpan.MaxValue.TotalSeconds)
        {
            duration = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
    }

    /// <summary>true/false, yes/no, on/off, 1/0, any case: what the original's environment variables took.</summary>
    public static bool TryParseBool(string? text, out bool value)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on" or "1":
                value = true;
                return true;
            case "false" or "no" or "off" or "0":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    private static (string? File, string Reason) ChooseFile(ConfigurationInputs inputs)
    {
        if (inputs.ConfigFile is { } named)
        {
            return (Existing(named, "flag --config"), "named by --config");
        }

        if (inputs.Environment.GetValueOrDefault(Settings.ConfigFileEnvironment) is { Length: > 0 } fromEnvironment)
        {
            return (Existing(fromEnvironment, $"env {Settings.ConfigFileEnvironment}"), $"named by ${Settings.ConfigFileEnvironment}");
        }

        var candidates = inputs.Locations.Candidates(inputs.Environment);
        var found = candidates.FirstOrDefault(File.Exists);
        return found is not null
            ? (found, "found")
            : (null, $"none of {string.Join(", ", candidates)} exists");
    }

    private static string Existing(string path, string source)
    {
        var full = Path.GetFullPath(path);
        return File.Exists(full) ? full
            : Directory.Exists(full) ? throw new ConfigurationFileException(full, $"is a directory, not a configuration file ({source})")
            : throw new ConfigurationFileException(full, $"does not exist ({source})");
    }
}
