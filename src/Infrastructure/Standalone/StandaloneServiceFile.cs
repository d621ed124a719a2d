using System.Globalization;
using k8s;
using k8s.Models;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.ServiceManifests;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Reads the standalone mode's file: Kubernetes YAML, several documents, of which the Services of type LoadBalancer
/// (of our class) are served, each with static backends from annotations (docs/standalone.md). A document that cannot
/// be read makes the file unusable; what a readable Service asks for is the reconciler's to judge, as in the cluster.
/// </summary>
public static class StandaloneServiceFile
{
    /// <summary>Backends of every port without its own list: <c>IP:PORT</c> or <c>IP</c> (then the port's targetPort), comma-separated.</summary>
    public const string Backends = ServiceAnnotations.Prefix + "backends";

    /// <summary>Prefix of the per-port list: <c>littlelb.io/backends.http</c> (port name) or <c>littlelb.io/backends.8080</c> (port number).</summary>
    public const string PortBackendsPrefix = Backends + ".";

    public const string DefaultNamespace = ServiceReader.DefaultNamespace;

    /// <summary>Why a port of a file's Service may have no backend: where they are written.</summary>
    public static readonly string NoBackendsReason = $"none listed in the annotation {Backends} (or {PortBackendsPrefix}PORT)";

    public static StandaloneFile Parse(string yaml) => Parse(yaml, new StandaloneFileOptions());

    public static StandaloneFile Parse(string yaml, StandaloneFileOptions options)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(options);
        var filter = new ServiceClassFilter(options.LoadBalancerClass, options.ServeUnclassed);
        var services = new List<DesiredService>();
        var notes = new List<string>();
        var errors = new List<string>();
        var seen = new Dictionary<ServiceKey, int>();
        foreach (var document in SplitDocuments(yaml))
        {
            var mapped = ReadDocument(document, options, filter, notes, errors);
            if (mapped is null)
            {
                continue;
            }

            if (seen.TryGetValue(mapped.Key, out var first))
            {
                errors.Add($"{document.Where(mapped.Key)}: metadata.name: Service {mapped.Key} is already defined in document {first}");
                continue;
            }

            seen.Add(mapped.Key, document.Number);
            services.Add(mapped);
        }

        return new StandaloneFile(services, notes, errors);
    }

    private static DesiredService? ReadDocument(Document document, StandaloneFileOptions options, ServiceClassFilter filter, List<string> notes, List<string> errors)
    {
        DocumentHeader header;
        try
        {
            header = KubernetesYaml.Deserialize<DocumentHeader>(document.Text);
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            errors.Add($"{document.Where()}: {Describe(failure)}");
            return null;
        }

        if (header is null)
        {
            return null;
        }

        if (string.IsNullOrEmpty(header.Kind))
        {
            errors.Add($"{document.Where()}: kind: missing; a Service needs 'apiVersion: v1' and 'kind: Service'");
            return null;
        }

        if (header.Kind != "Service")
        {
            notes.Add($"{document.Where()}: kind {header.Kind} skipped; only Services are read");
            return null;
        }

        if (header.ApiVersion != "v1")
        {
            errors.Add($"{document.Where(header.Metadata)}: apiVersion: '{header.ApiVersion}' must be v1 for a Service");
            return null;
        }

        V1Service service;
        try
        {
            // Strict: a misspelt field (loadBalancerIp) is an error here, not a setting silently ignored.
            service = KubernetesYaml.Deserialize<V1Service>(document.Text, strict: true);
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            errors.Add($"{document.Where(header.Metadata)}: {Describe(failure)}");
            return null;
        }

        return Map(document, service, options, filter, notes, errors);
    }

    private static DesiredService? Map(Document document, V1Service service, StandaloneFileOptions options, ServiceClassFilter filter, List<string> notes, List<string> errors)
    {
        var where = document.Where(service.Metadata);
        if (ServiceReader.Read(service, options.DefaultPolicy) is not { } reading)
        {
            errors.Add($"{where}: metadata.name: missing");
            return null;
        }

        var type = service.Spec?.Type ?? "ClusterIP";
        if (type != ServiceClassFilter.LoadBalancerType)
        {
            notes.Add($"{where}: spec.type {type} skipped; only type LoadBalancer is served");
            return null;
        }

        if (!filter.IsOurs(service))
        {
            notes.Add($"{where}: skipped; {filter.Describe(service)}");
            return null;
        }

        var warnings = new List<string>(reading.Warnings);
        var backends = ReadBackends(service.Spec!.Ports ?? [], reading.Annotations, warnings);
        return new DesiredService(reading.Spec, backends)
        {
            Policy = reading.Policy,
            HealthCheck = reading.HealthCheck,
            Warnings = warnings,
            NoBackendsReason = NoBackendsReason,
        };
    }

    /// <summary>
    /// The backends of each port backends can be found for (<see cref="ManifestPort.Usable"/>). An entry that cannot be
    /// read is left out, with a warning naming the annotation and the entry.
    /// </summary>
    private static List<PortBackends> ReadBackends(IList<V1ServicePort> ports, IReadOnlyDictionary<string, string>? annotations, List<string> warnings)
    {
        annotations ??= new Dictionary<string, string>();
        var result = new List<PortBackends>();
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (port, i, servicePort) in ManifestPort.Usable(ports))
        {
            var byName = port.Name is { Length: > 0 } portName ? PortBackendsPrefix + portName : null;
            var byNumber = PortBackendsPrefix + port.Port.ToString(CultureInfo.InvariantCulture);
            string key;
            if (byName is not null && annotations.ContainsKey(byName))
            {
                key = byName;
            }
            else if (annotations.ContainsKey(byNumber))
            {
                key = byNumber;
            }
            else if (annotations.ContainsKey(Backends))
            {
                key = Backends;
            }
            else
            {
                continue;
            }

            claimed.Add(key);
            var defaultPort = TargetPort(port, i, warnings);
            var endpoints = new List<Endpoint>();
            foreach (var entry in annotations[key].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (EndpointText.TryParse(entry, defaultPort, out var endpoint, out var error))
                {
                    endpoints.Add(endpoint);
                }
                else
                {
                    warnings.Add($"annotation {key}: {error}");
                }
            }

            result.Add(new PortBackends(servicePort, [.. endpoints.Distinct()]));
        }

        foreach (var key in annotations.Keys.Where(key => key.StartsWith(PortBackendsPrefix, StringComparison.Ordinal) && !claimed.Contains(key)))
        {
            warnings.Add($"annotation {key}: names no port of the Service (ports: {string.Join(", ", ports.Where(port => port is not null).Select(port => port.Name is { Length: > 0 } n ? $"{n}/{port.Port}" : port.Port.ToString(CultureInfo.InvariantCulture)))})");
        }

        return result;
    }

    /// <summary>The port a backend written without one listens on: the numeric targetPort, else the Service port.</summary>
    private static int? TargetPort(V1ServicePort port, int index, List<string> warnings)
    {
        var target = port.TargetPort?.Value;
        if (string.IsNullOrEmpty(target))
        {
            return port.Port;
        }

        if (int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= ServicePort.MinPort and <= ServicePort.MaxPort)
        {
            return number;
        }

        // A named targetPort points at a container port; without pods there is none, so such entries must give a port.
        if (!char.IsAsciiDigit(target[0]))
        {
            return null;
        }

        warnings.Add($"spec.ports[{index}].targetPort: '{target}' must be a number from {ServicePort.MinPort} to {ServicePort.MaxPort}; entries without a port are left out");
        return null;
    }

    /// <summary>
    /// The position and the cause. YamlDotNet's exceptions write their position only in ToString ("(Line: 9, Col: 3,
    /// Idx: 120) - (...): message") and the cause in an inner exception; the type itself is not referenced, as this
    /// layer may use only the Kubernetes client's surface.
    /// </summary>
    private static string Describe(Exception failure)
    {
        var text = failure.ToString();
        var firstLine = text[..(text.IndexOf('\n', StringComparison.Ordinal) is var end and >= 0 ? end : text.Length)].TrimEnd();
        var position = firstLine.StartsWith("(Line:", StringComparison.Ordinal) ? firstLine.LastIndexOf("): ", StringComparison.Ordinal) : -1;
        var described = position > 0 ? $"{firstLine[..(position + 1)]}: {failure.Message}" : failure.Message;
        var innermost = failure;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return ReferenceEquals(innermost, failure) || described.Contains(innermost.Message, StringComparison.Ordinal)
            ? described
            : $"{described}: {innermost.Message}";
    }

    /// <summary>
    /// Splits the stream at <c>---</c> lines. Each document keeps its line numbers (earlier lines become blank), so a
    /// YAML error names the line of the file. A marker is always at column 0, and no content line of a top-level
    /// mapping can start with <c>---</c>, so the split is exact for the files this reads.
    /// </summary>
    private static List<Document> SplitDocuments(string yaml)
    {
        var lines = yaml.ReplaceLineEndings("\n").Split('\n');
        var documents = new List<Document>();
        var start = 0;
        for (var i = 0; i <= lines.Length; i++)
        {
            var boundary = i == lines.Length || IsMarker(lines[i]);
            if (!boundary)
            {
                continue;
            }

            if (lines[start..i].Any(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#') && !line.StartsWith('%')))
            {
                var text = string.Concat(Enumerable.Repeat("\n", start)) + string.Join('\n', lines[start..i]);
                documents.Add(new Document(documents.Count + 1, start + 1, text));
            }

            start = i + 1;
        }

        return documents;
    }

    private static bool IsMarker(string line) =>
        (line.StartsWith("---", StringComparison.Ordinal) || line.StartsWith("...", StringComparison.Ordinal))
        && (line.Length == 3 || char.IsWhiteSpace(line[3]));

    /// <summary>Just enough of any document to tell a Service from the rest; other fields are ignored.</summary>
    private sealed class DocumentHeader
    {
        public string? ApiVersion { get; set; }

        public string? Kind { get; set; }

        public V1ObjectMeta? Metadata { get; set; }
    }

    /// <param name="Line">The file line the document starts on (1-based).</param>
    private sealed record Document(int Number, int Line, string Text)
    {
        public string Where() => $"document {Number} (line {Line})";

        public string Where(ServiceKey service) => $"document {Number} ({service})";

        public string Where(V1ObjectMeta? metadata) => metadata?.Name is { Length: > 0 } name
            ? $"document {Number} ({(string.IsNullOrEmpty(metadata.NamespaceProperty) ? DefaultNamespace : metadata.NamespaceProperty)}/{name})"
            : Where();
    }
}
