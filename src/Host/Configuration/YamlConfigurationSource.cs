using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.Host.Configuration;

/// <summary>
/// A YAML configuration file on YamlDotNet's representation model (the YamlDotNet of KubernetesClient, so no second
/// copy), which keeps the line of every value: a mistake is reported as <c>file PATH:LINE</c>.
/// </summary>
internal sealed class YamlConfigurationSource(string path) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new YamlConfigurationProvider(path);

    private sealed class YamlConfigurationProvider(string path) : ConfigurationProvider, IValueSource
    {
        private readonly Dictionary<string, int> _lines = new(StringComparer.OrdinalIgnoreCase);

        public override void Load()
        {
            var stream = new YamlStream();
            try
            {
                using var reader = File.OpenText(path);
                stream.Load(reader);
            }
            catch (YamlException invalid)
            {
                throw new ConfigurationFileException(path, $"line {invalid.Start.Line}: {invalid.Message}", invalid);
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationFileException(path, failure.Message, failure);
            }

            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            {
                return;
            }

            if (stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                throw new ConfigurationFileException(path, $"line {stream.Documents[0].RootNode.Start.Line}: the file must be a mapping of keys to values");
            }

            Visit(root, prefix: null);
        }

        public string Describe(string key)
        {
            var line = _lines.TryGetValue(key, out var exact) ? exact
                : _lines.Where(entry => entry.Key.StartsWith(key + ConfigurationPath.KeyDelimiter, StringComparison.OrdinalIgnoreCase))
                    .Select(entry => entry.Value).DefaultIfEmpty(0).Min();
            return line > 0 ? $"file {path}:{line}" : $"file {path}";
        }

        private void Visit(YamlNode node, string? prefix)
        {
            switch (node)
            {
                case YamlMappingNode mapping:
                    foreach (var (name, child) in mapping.Children)
                    {
                        var key = ((YamlScalarNode)name).Value ?? string.Empty;
                        Visit(child, prefix is null ? key : ConfigurationPath.Combine(prefix, key));
                    }

                    break;
                case YamlSequenceNode sequence:
                    for (var i = 0; i < sequence.Children.Count; i++)
                    {
                        Visit(sequence.Children[i], ConfigurationPath.Combine(prefix!, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    }

                    break;
                case YamlScalarNode scalar:
                    // "key:" and "key: ~" leave the key unset, as an absent key would.
                    var isNull = scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";
                    Data[prefix!] = isNull ? null : scalar.Value;
                    _lines[prefix!] = (int)node.Start.Line;
                    break;
            }
        }
    }
}

/// <summary>A configuration file that cannot be read or parsed, with the file and the reason.</summary>
public sealed class ConfigurationFileException(string path, string reason, Exception? inner = null)
    : Exception($"{path}: {reason}", inner)
{
    public string Path { get; } = path;
}
