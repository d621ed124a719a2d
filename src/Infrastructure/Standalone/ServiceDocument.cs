using System.Globalization;
using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Text;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// One Service document of a Services file, read from YAML nodes instead of through the client's deserializer: the
/// nodes know their lines, so every problem names the field as a manifest writes it, the value and its line in the
/// whole file, and every problem of the document is found, not the first only. Fields are strict as kubectl's strict
/// decoding is: a key the Service API does not have (<c>loadBalancerIp</c>) is an error, not a setting silently lost.
/// </summary>
internal sealed class ServiceDocument
{
    private static readonly Fields TopLevel = new("apiVersion", "kind", "metadata", "spec", "status");

    private static readonly Fields Metadata = new(
        "name", "namespace", "annotations", "labels", "creationTimestamp", "uid", "resourceVersion", "generation",
        "generateName", "finalizers", "ownerReferences", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds",
        "selfLink");

    private static readonly Fields Spec = new(
        "type", "ports", "loadBalancerIP", "loadBalancerClass", "sessionAffinity", "selector", "sessionAffinityConfig",
        "loadBalancerSourceRanges", "externalTrafficPolicy", "internalTrafficPolicy", "clusterIP", "clusterIPs",
        "externalIPs", "externalName", "healthCheckNodePort", "ipFamilies", "ipFamilyPolicy", "publishNotReadyAddresses",
        "allocateLoadBalancerNodePorts", "trafficDistribution");

    private static readonly Fields SessionAffinityConfig = new("clientIP");

    private static readonly Fields ClientIpConfig = new("timeoutSeconds");

    private static readonly Fields Port = new("name", "port", "protocol", "targetPort", "nodePort", "appProtocol");

    private readonly string _file;
    private readonly List<ServiceFileProblem> _problems = [];
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

    private ServiceDocument(string file, int line)
    {
        _file = file;
        Line = line;
    }

    /// <summary>The line the document's content starts on.</summary>
    public int Line { get; }

    /// <summary>The Service, when the document could be read without a problem.</summary>
    public V1Service? Service { get; private set; }

    public IReadOnlyList<ServiceFileProblem> Problems => _problems;

    /// <summary>
    /// Reads a document whose <c>kind</c> is Service. Values the Service API allows but this program does not use
    /// (<c>selector</c>, <c>externalTrafficPolicy</c>, ...) are accepted as they are: a file meant for a cluster reads
    /// here too.
    /// </summary>
    public static ServiceDocument Read(string file, YamlMappingNode root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var document = new ServiceDocument(file, LineOf(root));
        document.Service = document.ReadService(root);
        if (document._problems.Count > 0)
        {
            document.Service = null;
        }

        return document;
    }

    /// <summary>The line of a field, else of the nearest field that holds it (a port without <c>port</c>: the entry).</summary>
    public int LineOf(string field)
    {
        var path = field;
        while (path.Length > 0)
        {
            if (_lines.TryGetValue(path, out var line))
            {
                return line;
            }

            var cut = path.LastIndexOfAny(['.', '[']);
            path = cut > 0 ? path[..cut] : string.Empty;
        }

        return Line;
    }

    public ServiceFileProblem Problem(string field, string? value, string message) => new(_file, LineOf(field), field, value, message);

    public static int LineOf(YamlNode node) => checked((int)node.Start.Line);

    /// <summary>An empty value (<c>key:</c>, <c>~</c>, <c>null</c>): YAML's null, which Kubernetes reads as absent.</summary>
    public static bool IsNull(YamlNode? node) =>
        node is null || (node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } scalar
            && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");

    private V1Service ReadService(YamlMappingNode root)
    {
        var service = new V1Service { ApiVersion = "v1", Kind = "Service" };
        foreach (var (key, value, path) in Entries(root, string.Empty, TopLevel))
        {
            switch (key)
            {
                case "metadata":
                    service.Metadata = ReadMetadata(value, path);
                    break;
                case "spec":
                    service.Spec = ReadSpec(value, path);
                    break;
            }
        }

        return service;
    }

    private V1ObjectMeta? ReadMetadata(YamlNode node, string path)
    {
        if (Mapping(node, path) is not { } mapping)
        {
            return null;
        }

        var metadata = new V1ObjectMeta();
        foreach (var (key, value, field) in Entries(mapping, path, Metadata))
        {
            switch (key)
            {
                case "name":
                    metadata.Name = Text(value, field);
                    break;
                case "namespace":
                    metadata.NamespaceProperty = Text(value, field);
                    break;
                case "annotations":
                    metadata.Annotations = Strings(value, field, ServiceSpecFields.Annotation);
                    break;
                case "labels":
                    metadata.Labels = Strings(value, field, label => $"{field}[\"{label}\"]");
                    break;
                case "creationTimestamp":
                    metadata.CreationTimestamp = Time(value, field);
                    break;
            }
        }

        return metadata;
    }

    private V1ServiceSpec? ReadSpec(YamlNode node, string path)
    {
        if (Mapping(node, path) is not { } mapping)
        {
            return null;
        }

        var spec = new V1ServiceSpec();
        foreach (var (key, value, field) in Entries(mapping, path, Spec))
        {
            switch (key)
            {
                case "type":
                    spec.Type = Text(value, field);
                    break;
                case "ports":
                    spec.Ports = ReadPorts(value, field);
                    break;
                case "loadBalancerIP":
                    spec.LoadBalancerIP = Text(value, field);
                    break;
                case "loadBalancerClass":
                    spec.LoadBalancerClass = Text(value, field);
                    break;
                case "ipFamilies":
                    spec.IpFamilies = TextList(value, field);
                    break;
                case "ipFamilyPolicy":
                    spec.IpFamilyPolicy = Text(value, field);
                    break;
                case "sessionAffinity":
                    spec.SessionAffinity = Text(value, field);
                    break;
                case "sessionAffinityConfig":
                    spec.SessionAffinityConfig = ReadSessionAffinityConfig(value, field);
                    break;
                case "selector":
                    spec.Selector = Strings(value, field, label => $"{field}[\"{label}\"]");
                    break;
                case "loadBalancerSourceRanges":
                    spec.LoadBalancerSourceRanges = TextList(value, field);
                    break;
            }
        }

        return spec;
    }

    /// <summary>Its range (1 to 86400) is the reader's to judge, as the API server's; here only a number is required.</summary>
    private V1SessionAffinityConfig? ReadSessionAffinityConfig(YamlNode node, string path)
    {
        if (Mapping(node, path) is not { } mapping)
        {
            return null;
        }

        var config = new V1SessionAffinityConfig();
        foreach (var (_, value, field) in Entries(mapping, path, SessionAffinityConfig))
        {
            if (Mapping(value, field) is not { } clientIp)
            {
                continue;
            }

            config.ClientIP = new V1ClientIPConfig();
            foreach (var (_, seconds, secondsField) in Entries(clientIp, field, ClientIpConfig))
            {
                config.ClientIP.TimeoutSeconds = Number(seconds, secondsField, "a timeout is a whole number of seconds from 1 to 86400");
            }
        }

        return config;
    }

    private List<V1ServicePort>? ReadPorts(YamlNode node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Add(node, path, Shown(node), $"{Describe(node)} must be a list of ports (lines starting with '- ')");
            return null;
        }

        var ports = new List<V1ServicePort>();
        for (var index = 0; index < sequence.Children.Count; index++)
        {
            var entry = sequence.Children[index];
            var entryPath = $"{path}[{index.ToString(CultureInfo.InvariantCulture)}]";
            _lines[entryPath] = LineOf(entry);

            // "- " with nothing after it is a null entry; it stays in the list (as port 0, which validation names by
            // its index) so that the other ports keep their indices.
            if (IsNull(entry))
            {
                ports.Add(null!);
                continue;
            }

            if (Mapping(entry, entryPath) is not { } mapping)
            {
                continue;
            }

            var port = new V1ServicePort();
            foreach (var (key, value, field) in Entries(mapping, entryPath, Port))
            {
                switch (key)
                {
                    case "name":
                        port.Name = Text(value, field);
                        break;
                    case "protocol":
                        port.Protocol = Text(value, field);
                        break;
                    case "port":
                        port.Port = Number(value, field, "a port is a whole number from 1 to 65535") ?? 0;
                        break;
                    case "nodePort":
                        port.NodePort = Number(value, field, "a node port is a whole number");
                        break;
                    case "targetPort":
                        // A number or the name of a container port: both are text to the client's IntOrString.
                        port.TargetPort = Text(value, field) is { } target ? (IntOrString)target : null;
                        break;
                }
            }

            ports.Add(port);
        }

        return ports;
    }

    /// <summary>The entries of a mapping; a key the API does not have is a problem naming its path.</summary>
    private IEnumerable<(string Key, YamlNode Value, string Path)> Entries(YamlMappingNode mapping, string path, Fields known)
    {
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? string.Empty;
            var field = path.Length == 0 ? key : $"{path}.{key}";
            if (!known.Contains(key))
            {
                _lines[field] = LineOf(keyNode);
                var hint = known.Like(key) is { } like ? $"; did you mean {QuotedValue.Of(like)}?" : $" of {(path.Length == 0 ? "a Service" : path)}";
                Add(keyNode, field, key, $"unknown field {QuotedValue.Of(key)}{hint}");
                continue;
            }

            // A mapping or list below its key starts on the next line; the key's line is where the operator looks.
            _lines[field] = value is YamlScalarNode ? LineOf(value) : LineOf(keyNode);
            yield return (key, value, field);
        }
    }

    private YamlMappingNode? Mapping(YamlNode node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlMappingNode mapping)
        {
            return mapping;
        }

        Add(node, path, Shown(node), $"{Describe(node)} must be a mapping (key: value lines)");
        return null;
    }

    private string? Text(YamlNode node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlScalarNode scalar)
        {
            return scalar.Value ?? string.Empty;
        }

        Add(node, path, null, $"{Describe(node)} must be a single value");
        return null;
    }

    /// <summary>A list of single values; an empty entry ("- ") stays, as null, so the others keep their indices.</summary>
    private List<string>? TextList(YamlNode node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Add(node, path, Shown(node), $"{Describe(node)} must be a list (lines starting with '- ')");
            return null;
        }

        var values = new List<string>();
        for (var index = 0; index < sequence.Children.Count; index++)
        {
            var entry = sequence.Children[index];
            var entryPath = $"{path}[{index.ToString(CultureInfo.InvariantCulture)}]";
            _lines[entryPath] = LineOf(entry);
            values.Add(Text(entry, entryPath)!);
        }

        return values;
    }

    private int? Number(YamlNode node, string path, string expected)
    {
        if (Text(node, path) is not { } text)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        Add(node, path, text, $"{QuotedValue.Of(text)} is not a number; {expected}");
        return null;
    }

    private Dictionary<string, string>? Strings(YamlNode node, string path, Func<string, string> entryPath)
    {
        if (Mapping(node, path) is not { } mapping)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? string.Empty;
            var field = entryPath(key);
            _lines[field] = LineOf(value);
            if (Text(value, field) is var text && (text is not null || IsNull(value)))
            {
                values[key] = text ?? string.Empty;
            }
        }

        return values;
    }

    private DateTime? Time(YamlNode node, string path)
    {
        if (Text(node, path) is not { } text)
        {
            return null;
        }

        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        Add(node, path, text, $"{QuotedValue.Of(text)} is not a time such as 2024-05-01T12:00:00Z");
        return null;
    }

    private void Add(YamlNode node, string field, string? value, string message) =>
        _problems.Add(new ServiceFileProblem(_file, LineOf(node), field, value, message));

    private static string? Shown(YamlNode node) => (node as YamlScalarNode)?.Value;

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => QuotedValue.Of(scalar.Value),
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "the value",
    };

    /// <summary>The keys an object of the API has; <see cref="Like"/> finds the one a misspelling meant.</summary>
    private sealed class Fields(params string[] names)
    {
        private readonly HashSet<string> _names = new(names, StringComparer.Ordinal);

        public bool Contains(string name) => _names.Contains(name);

        /// <summary>The known key that differs only in case (<c>loadBalancerIp</c>: <c>loadBalancerIP</c>).</summary>
        public string? Like(string name) => _names.FirstOrDefault(known => string.Equals(known, name, StringComparison.OrdinalIgnoreCase));
    }
}
