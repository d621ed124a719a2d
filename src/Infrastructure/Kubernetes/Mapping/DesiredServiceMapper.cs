using k8s.Models;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// Turns a Service of the cluster, with the nodes and the Service's EndpointSlices, into the command that makes the
/// load balancer serve it. Equal inputs, in any order, give commands equal by <see cref="ApplyServiceComparer"/>, so
/// the caller can skip applying what already runs. Whether the Service is ours is <see cref="ServiceClassFilter"/>'s call.
/// </summary>
internal sealed class DesiredServiceMapper
{
    /// <summary>The namespace of a Service whose metadata names none; the API server always names one.</summary>
    public const string DefaultNamespace = "default";

    private readonly KubernetesServiceOptions _options;
    private readonly NodeSelector _workers;

    /// <exception cref="FormatException">The worker selector is no label selector.</exception>
    public DesiredServiceMapper(KubernetesServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _workers = NodeSelector.Parse(options.WorkerSelector);
    }

    /// <param name="slicesOfThisService">The EndpointSlices labelled <c>kubernetes.io/service-name</c> with this
    /// Service's name in its namespace.</param>
    public DesiredServiceResult Map(V1Service service, IReadOnlyCollection<V1Node> nodes, IReadOnlyCollection<V1EndpointSlice> slicesOfThisService)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(slicesOfThisService);

        var reading = ServiceReader.Read(service, DefaultNamespace, _options.DefaultPolicy);
        if (!reading.Succeeded)
        {
            return DesiredServiceResult.Failed(reading.Errors);
        }

        // A valid spec has at least one port, so the Service has a spec.
        var spec = service.Spec!;
        var diagnostics = new List<string>();
        var nodePorts = UsesNodePorts(spec);
        // Read only when used, so that a slice skipped for no reason the Service cares about is not reported.
        var slices = !nodePorts || spec.ExternalTrafficPolicy == NodePortBackends.LocalTrafficPolicy
            ? EndpointSliceBackends.Usable(slicesOfThisService, reading.Spec!.Key, diagnostics)
            : [];
        var backends = nodePorts
            ? NodePortBackends.Find(spec, nodes, _workers, _options.AddressTypes, slices, diagnostics)
            : EndpointSliceBackends.Find(spec.Ports!, slices, diagnostics);
        var command = new ApplyService(reading.Spec!, backends) { Policy = reading.Policy, HealthCheck = reading.HealthCheck };
        var empty = backends.Where(port => port.Endpoints.Count == 0).Select(port => port.Port).ToList();
        return new DesiredServiceResult(command, [], diagnostics, empty) { Source = nodePorts ? BackendMode.NodePorts : BackendMode.Endpoints };
    }

    /// <summary>Without NodePorts (allocateLoadBalancerNodePorts: false) the pods are the only way in.</summary>
    private bool UsesNodePorts(V1ServiceSpec spec) =>
        _options.Backends == BackendMode.NodePorts && spec.AllocateLoadBalancerNodePorts != false;

    internal static ServicePort ToServicePort(V1ServicePort port) =>
        new(string.Equals(port.Protocol, "UDP", StringComparison.OrdinalIgnoreCase) ? TransportProtocol.Udp : TransportProtocol.Tcp, port.Port);

    /// <summary>"spec.ports[1] (dns, 53/UDP)": how a message names a port.</summary>
    internal static string Describe(V1ServicePort port, int index) =>
        port.Name is { Length: > 0 } name ? $"spec.ports[{index}] ({name}, {ToServicePort(port)})" : $"spec.ports[{index}] ({ToServicePort(port)})";

    /// <summary>One order for any order of input: by address (IPv4 first), then port; one entry per address and port.</summary>
    internal static List<Endpoint> Canonical(IEnumerable<Endpoint> endpoints) =>
        [.. endpoints
            .OrderBy(endpoint => endpoint.Address.AddressFamily)
            .ThenBy(endpoint => endpoint.Address.GetAddressBytes(), AddressBytesComparer.Instance)
            .ThenBy(endpoint => endpoint.Port)
            .ThenBy(endpoint => endpoint.NodeName, StringComparer.Ordinal)
            .DistinctBy(endpoint => (endpoint.Address, endpoint.Port))];

    private sealed class AddressBytesComparer : IComparer<byte[]>
    {
        public static AddressBytesComparer Instance { get; } = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
