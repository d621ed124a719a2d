using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Host.Configuration;

/// <summary>
/// Every mistake in the configuration at once, each naming the key, the value in quotes and where the value came from:
/// <c>drainTimeout: 'soon' is not a duration (10s, 500ms, 2m, or seconds) (env LITTLELB_DRAINTIMEOUT)</c>.
/// </summary>
public sealed class DaemonSettingsValidator(LoadedConfiguration configuration) : IValidateOptions<DaemonSettings>
{
    private static readonly string[] NodeAddressTypes = ["InternalIP", "ExternalIP"];

    public ValidateOptionsResult Validate(string? name, DaemonSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options with { RestrictedCidrIsDefault = configuration.IsDefault(Settings.RestrictedCidr) });
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public IReadOnlyList<string> Problems(DaemonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var problems = new List<string>();
        void Problem(string key, string? value, string message) =>
            problems.Add($"{key}: '{value}' {message} ({configuration.Source(key) ?? ValueSources.Default})");

        foreach (var (key, value) in new[]
        {
            (Settings.Kubernetes, settings.Kubernetes), (Settings.TagWorkerNodes, settings.TagWorkerNodes), (Settings.Debug, settings.Debug),
            (Settings.Announce, settings.Announce), (Settings.IgnoreUnclassed, settings.IgnoreUnclassed),
            (Settings.SetExternalIps, settings.SetExternalIps), (Settings.LeaderElectionEnabled, settings.LeaderElection.Enabled),
        })
        {
            if (value is not null && !ConfigurationLayers.TryParseBool(value, out _))
            {
                Problem(key, value, "must be true or false");
            }
        }

        if (settings.LogFormat is { } format && format.Trim().ToLowerInvariant() is not ("text" or "json" or "systemd"))
        {
            Problem(Settings.LogFormat, format, "must be text, json or systemd");
        }

        if (settings.DrainTimeout is { } drain && !ConfigurationLayers.TryParseDuration(drain, out _))
        {
            Problem(Settings.DrainTimeout, drain, "is not a duration (10s, 500ms, 2m, or seconds)");
        }

        if (settings.KubeApiQps is { } qps && !DaemonSettings.TryParseQps(qps, out _))
        {
            Problem(Settings.KubeApiQps, qps, "must be a number of requests per second above 0 (e.g. 500 or 0.5)");
        }

        if (settings.KubeApiBurst is { } burst && !DaemonSettings.TryParseBurst(burst, out _))
        {
            Problem(Settings.KubeApiBurst, burst, "must be a whole number of requests, at least 1");
        }

        if (settings.AdminAddress is { } admin && !Infrastructure.Admin.AdminAddress.TryParse(admin, out _, out var adminProblem))
        {
            problems.Add($"{Settings.AdminAddress}: {adminProblem} ({configuration.Source(Settings.AdminAddress)})");
        }

        if (settings.Engine is { } engine && !DaemonSettings.TryParseEngine(engine, out _))
        {
            Problem(Settings.Engine, engine, "must be io_uring, splice or copy");
        }

        if (settings.Policy is { } policy && !LoadBalancingPolicyNames.IsKnown(policy.Trim()))
        {
            problems.Add($"{Settings.Policy}: {LoadBalancingPolicyNames.UnknownMessage(policy)} ({configuration.Source(Settings.Policy)})");
        }

        if (settings.LinkDevice is { Length: > 0 } device && !string.Equals(device, "auto", StringComparison.OrdinalIgnoreCase)
            && (device.Length > 15 || device.Any(character => char.IsWhiteSpace(character) || character == '/')))
        {
            Problem(Settings.LinkDevice, device, "is not a Linux device name (1-15 characters, no spaces or '/') or \"auto\"");
        }

        for (var i = 0; i < settings.Pools.Count; i++)
        {
            if (settings.Pools[i].AutoAssign is { } autoAssign && !ConfigurationLayers.TryParseBool(autoAssign, out _))
            {
                Problem($"pools[{i}].autoAssign", autoAssign, "must be true or false");
            }
        }

        // The allocator's own rules, with its key paths (restrictedCidr, exclude, pools[1].addresses[0]).
        foreach (var error in PoolSetFactory.Build(settings.Allocation()).Errors)
        {
            problems.Add($"{error} ({configuration.Source(ConfigurationKeyOf(error)) ?? ValueSources.Default})");
        }

        if (settings.Backends is { } backends && backends.Trim().ToLowerInvariant() is not ("nodeports" or "endpoints"))
        {
            Problem(Settings.Backends, backends, "must be nodeports or endpoints");
        }

        if (settings.NodeAddressTypes is { } types)
        {
            var listed = types.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (listed.Length == 0 || listed.Any(type => !NodeAddressTypes.Contains(type, StringComparer.Ordinal)))
            {
                Problem(Settings.NodeAddressTypes, types, $"must list {string.Join(", ", NodeAddressTypes)} (comma-separated)");
            }
        }

        foreach (var (key, value) in new[]
        {
            (Settings.LeaderElectionNamespace, settings.LeaderElection.Namespace), (Settings.LeaderElectionName, settings.LeaderElection.Name),
            (Settings.LeaderElectionIdentity, settings.LeaderElection.Identity),
        })
        {
            if (value is not null && string.IsNullOrWhiteSpace(value))
            {
                Problem(key, value, "must not be empty");
            }
        }

        return problems;
    }

    /// <summary>The configuration key a pool error starts with: <c>pools[1].addresses[0]: …</c> is <c>pools:1:addresses:0</c>.</summary>
    private static string ConfigurationKeyOf(string error)
    {
        var path = error.Split(':', 2)[0];
        return path.Replace("[", ":", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal).Replace('.', ':');
    }
}
