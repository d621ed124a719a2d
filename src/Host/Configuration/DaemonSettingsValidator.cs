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
        var problems = Problems(options);
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

        if (settings.Engine is { } engine && engine.Trim().ToLowerInvariant() is not ("splice" or "copy"))
        {
            Problem(Settings.Engine, engine, "must be splice or copy");
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

        if (!string.IsNullOrWhiteSpace(settings.RestrictedCidr))
        {
            foreach (var error in IpPool.Parse(settings.RestrictedCidr, string.IsNullOrWhiteSpace(settings.Exclude) ? null : settings.Exclude).Errors)
            {
                var key = error.StartsWith("excluded", StringComparison.Ordinal) ? Settings.Exclude : Settings.RestrictedCidr;
                problems.Add($"{key}: {error} ({configuration.Source(key)})");
            }
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
}
