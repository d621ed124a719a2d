using System.Globalization;
using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Domain.Text;
using LoadBalancer.Infrastructure.ServiceManifests;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

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

    /// <summary>The name problems carry when the text was not read from a file.</summary>
    public const string NoFile = "(text)";

    private static readonly ServiceSpecValidator Validator = new();

    public static StandaloneFile Parse(string yaml) => Parse(yaml, new StandaloneFileOptions());

    public static StandaloneFile Parse(string yaml, StandaloneFileOptions options) => Parse(yaml, options, NoFile);

    /// <param name="file">The file as the operator named it, for the problems and notes.</param>
    public static StandaloneFile Parse(string yaml, StandaloneFileOptions options, string file)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(file);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml), skipComments: true);
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException failure)
        {
            return new StandaloneFile([], [], [SyntaxProblem(file, failure.Start, failure)]);
        }
        catch (InvalidOperationException failure)
        {
            // The scanner throws this, without a position, when the text ends inside a flow collection ("{name: web").
            return new StandaloneFile([], [], [SyntaxProblem(file, scanner.CurrentPosition, failure)]);
        }

        var filter = new ServiceClassFilter(options.LoadBalancerClass, options.ServeUnclassed);
        var services = new List<DesiredService>();
        var notes = new List<string>();
        var problems = new List<ServiceFileProblem>();
        var serviceProblems = new List<ServiceFileProblem>();
        var seen = new Dictionary<ServiceKey, int>();
        foreach (var root in stream.Documents.Select(document => document.RootNode))
        {
            if (ReadDocument(file, root, notes, problems) is not { Service: { } service } document)
            {
                continue;
            }

            var mapped = Map(file, document, service, options, filter, notes, problems);
            if (mapped is null)
            {
                continue;
            }

            if (seen.TryGetValue(mapped.Key, out var first))
            {
                problems.Add(document.Problem("metadata.name", mapped.Key.Name,
                    $"Service {mapped.Key} is already defined at line {first.ToString(CultureInfo.InvariantCulture)}"));
                continue;
            }

            seen.Add(mapped.Key, document.LineOf("metadata.name"));
            services.Add(mapped);
            serviceProblems.AddRange(ServiceProblems(document, mapped, service.Metadata?.Annotations));
        }

        return new StandaloneFile(services, notes, problems) { ServiceProblems = serviceProblems };
    }

    /// <summary>The Service of a document whose kind is Service; other kinds are skipped with a note, not a problem.</summary>
    private static ServiceDocument? ReadDocument(string file, YamlNode root, List<string> notes, List<ServiceFileProblem> problems)
    {
        if (ServiceDocument.IsNull(root))
        {
            return null;
        }

        var line = ServiceDocument.LineOf(root);
        if (root is not YamlMappingNode mapping)
        {
            problems.Add(new ServiceFileProblem(file, line, string.Empty, null,
                "a document must be a mapping (apiVersion, kind, metadata, spec), not a list or a single value"));
            return null;
        }

        var kind = Scalar(mapping, "kind");
        if (string.IsNullOrEmpty(kind))
        {
            problems.Add(new ServiceFileProblem(file, line, "kind", null, "missing; a Service needs 'apiVersion: v1' and 'kind: Service'"));
            return null;
        }

        if (kind != "Service")
        {
            notes.Add($"{file}:{line.ToString(CultureInfo.InvariantCulture)}: kind {kind} skipped; only Services are read");
            return null;
        }

        var document = ServiceDocument.Read(file, mapping);
        var apiVersion = Scalar(mapping, "apiVersion");
        if (apiVersion != "v1")
        {
            problems.Add(document.Problem("apiVersion", apiVersion, $"{QuotedValue.Of(apiVersion)} must be v1 for a Service"));
        }

        problems.AddRange(document.Problems);
        return apiVersion == "v1" ? document : null;
    }

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar && !ServiceDocument.IsNull(scalar)
            ? scalar.Value
            : null;

    private static DesiredService? Map(string file, ServiceDocument document, V1Service service, StandaloneFileOptions options, ServiceClassFilter filter, List<string> notes, List<ServiceFileProblem> problems)
    {
        if (ServiceReader.Read(service, options.DefaultPolicy) is not { } reading)
        {
            problems.Add(document.Problem("metadata.name", null, "missing; every Service needs a name"));
            return null;
        }

        var where = $"{file}:{document.Line.ToString(CultureInfo.InvariantCulture)}: {reading.Spec.Key}";
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
            AffinityTimeout = reading.AffinityTimeout,
            UdpFlowIdleTimeout = reading.UdpFlowIdleTimeout,
            ProxyProtocol = reading.ProxyProtocol,
            Warnings = warnings,
            NoBackendsReason = NoBackendsReason,
        };
    }

    /// <summary>
    /// What the reconciler would refuse (the allocation request's validation) or replace by a default (an annotation
    /// value it cannot use) for a Service of the file, each with the line of its field.
    /// </summary>
    private static IEnumerable<ServiceFileProblem> ServiceProblems(ServiceDocument document, DesiredService service, IDictionary<string, string>? annotations)
    {
        foreach (var error in Validator.Validate(service.Spec).Errors.Select(ValidationError.From))
        {
            var field = ServiceSpecFields.ManifestPath(error.Field);
            var described = ServiceSpecFields.Describe(error);
            var message = field.Length > 0 && described.StartsWith(field + ": ", StringComparison.Ordinal) ? described[(field.Length + 2)..] : described;
            yield return document.Problem(field, error.AttemptedValue, message);
        }

        foreach (var warning in service.Warnings)
        {
            yield return WarningProblem(document, warning, annotations);
        }
    }

    /// <summary>
    /// The readers word a warning as "annotation KEY: message" or "spec.field: message"; the prefix is the field. The
    /// text is parsed instead of carried as data so that every reader of annotations keeps one simple shape (strings).
    /// </summary>
    private static ServiceFileProblem WarningProblem(ServiceDocument document, string warning, IDictionary<string, string>? annotations)
    {
        const string annotation = "annotation ";
        var colon = warning.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && warning.StartsWith(annotation, StringComparison.Ordinal))
        {
            var key = warning[annotation.Length..colon];
            return document.Problem(ServiceSpecFields.Annotation(key), annotations?.TryGetValue(key, out var value) == true ? value : null, warning[(colon + 2)..]);
        }

        if (colon > 0 && (warning.StartsWith("spec.", StringComparison.Ordinal) || warning.StartsWith("metadata.", StringComparison.Ordinal)))
        {
            return document.Problem(warning[..colon], null, warning[(colon + 2)..]);
        }

        return document.Problem(string.Empty, null, warning);
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

    /// <summary>A YAML syntax error: the line, the column and the parser's reason, without its positions and types.</summary>
    private static ServiceFileProblem SyntaxProblem(string file, Mark position, Exception failure)
    {
        var reason = failure is YamlException ? failure.Message.TrimEnd('.') : "the file ends inside an unclosed '{', '[' or quote";
        var line = position.Line > 0 ? checked((int)position.Line) : (int?)null;
        return new ServiceFileProblem(file, line, string.Empty, null,
            $"YAML syntax error at column {position.Column.ToString(CultureInfo.InvariantCulture)}: {reason}");
    }
}
