using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Host.Configuration;

/// <summary>A configuration provider that can say where each of its values came from, in the words the user wrote.</summary>
public interface IValueSource
{
    /// <summary><c>default</c>, <c>file /etc/little-load-balancer/config.yaml:4</c>, <c>env RESTRICTED_CIDR</c>, <c>flag --link-device</c>.</summary>
    string Describe(string key);
}

/// <summary>Which layer gave a key its effective value: the last provider that has it, as IConfiguration reads it.</summary>
public static class ValueSources
{
    public const string Default = "default";

    /// <returns>The source of <paramref name="key"/>, or null when no layer sets it (nor anything below it).</returns>
    public static string? Describe(IConfigurationRoot configuration, string key)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        foreach (var provider in configuration.Providers.Reverse())
        {
            if (provider.TryGet(key, out _) || provider.GetChildKeys([], key).Any())
            {
                return provider is IValueSource source ? source.Describe(key) : provider.ToString();
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="key"/> has its value from the defaults (or from no layer at all).</summary>
    public static bool IsDefault(IConfigurationRoot configuration, string key) =>
        Describe(configuration, key) is null or Default;
}

/// <summary>Values held in memory with one description for all of them (the defaults) or one per key (the flags).</summary>
internal sealed class LayerConfigurationSource(IReadOnlyDictionary<string, string?> values, Func<string, string> describe) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new LayerConfigurationProvider(values, describe);

    private sealed class LayerConfigurationProvider(IReadOnlyDictionary<string, string?> values, Func<string, string> describe)
        : ConfigurationProvider, IValueSource
    {
        public override void Load()
        {
            foreach (var (key, value) in values)
            {
                Data[key] = value;
            }
        }

        public string Describe(string key) => describe(key);
    }
}
