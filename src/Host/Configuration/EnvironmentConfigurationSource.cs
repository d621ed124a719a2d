using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Host.Configuration;

/// <summary>
/// The environment layer: the original project's names (<c>RESTRICTED_CIDR</c>, <c>LINK_DEVICE</c>, <c>DEBUG</c> …)
/// and ours (<c>LITTLELB_RESTRICTEDCIDR</c>, <c>LITTLELB_POOLS__0__NAME</c>), ours winning when both are set. The
/// variables are passed in, so tests never touch the process environment.
/// </summary>
internal sealed class EnvironmentConfigurationSource(IReadOnlyDictionary<string, string?> environment) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new EnvironmentConfigurationProvider(environment);

    private sealed class EnvironmentConfigurationProvider(IReadOnlyDictionary<string, string?> environment) : ConfigurationProvider, IValueSource
    {
        private readonly Dictionary<string, string> _names = new(StringComparer.OrdinalIgnoreCase);

        public override void Load()
        {
            // An original name set but empty (DEBUG= in a shell script) means unset, as it did in the original.
            foreach (var setting in Settings.All)
            {
                foreach (var name in setting.OriginalEnvironment)
                {
                    if (environment.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value))
                    {
                        Set(setting.Key, value, name);
                    }
                }
            }

            foreach (var (name, value) in environment.OrderBy(variable => variable.Key, StringComparer.Ordinal))
            {
                if (name.StartsWith(Setting.EnvironmentPrefix, StringComparison.OrdinalIgnoreCase)
                    && !string.Equals(name, Settings.ConfigFileEnvironment, StringComparison.OrdinalIgnoreCase)
                    && name.Length > Setting.EnvironmentPrefix.Length)
                {
                    var key = name[Setting.EnvironmentPrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
                    Set(Settings.Find(key)?.Key ?? key, value, name);
                }
            }
        }

        public string Describe(string key) =>
            _names.TryGetValue(key, out var name) ? $"env {name}"
            : _names.Where(entry => entry.Key.StartsWith(key + ConfigurationPath.KeyDelimiter, StringComparison.OrdinalIgnoreCase))
                .Select(entry => $"env {entry.Value}").FirstOrDefault() ?? "env";

        private void Set(string key, string? value, string name)
        {
            Data[key] = value;
            _names[key] = name;
        }
    }
}
