using k8s.Models;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.ServiceManifests;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>
/// Turns a Service of the cluster, with the nodes and the Service's EndpointSlices, into what the load balancer should
/// serve for it. Equal inputs, in any order, give equal backends, so the reconciler can tell that nothing changed.
/// Whether the Service is ours is <see cref="ServiceClassFilter"/>'s call.
/// </summary>
internal sealed class DesiredServiceMapper
{
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
    /// <returns>Null for a Service without a name.</returns>
    public DesiredService? Map(V1Service service, IReadOnlyCollection<V1Node> nodes, IReadOnlyCollection<V1EndpointSlice> slicesOfThisService)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(slicesOfThisService);

        if (ServiceReader.Read(service, _options.DefaultPolicy) is not { } reading)
        {
            return null;
        }

        var spec = service.Spec ?? new V1ServiceSpec();
        var ports = ManifestPort.Usable(spec.Ports);
        var diagnostics = new List<string>();
        var nodePorts = UsesNodePorts(spec);

        // Read only when used, so that a slice skipped for no reason the Service cares about is not reported.
        var slices = !nodePorts || spec.ExternalTrafficPolicy == NodePortBackends.LocalTrafficPolicy
            ? EndpointSliceBackends.Usable(slicesOfThisService, reading.Spec.Key, diagnostics)
            : [];
        var backends = nodePorts
            ? NodePortBackends.Find(spec, ports, nodes, _workers, _options.AddressTypes, slices, diagnostics)
            : EndpointSliceBackends.Find(ports, slices, diagnostics);
        return new DesiredService(reading.Spec, backends)
        {
            Policy = reading.Policy,
            HealthCheck = nodePorts ? KubeProxyHealthCheck.For(spec, reading.HealthCheck, reading.Annotations) : reading.HealthCheck,
            AffinityTimeout = reading.AffinityTimeout,
            UdpFlowIdleTimeout = reading.UdpFlowIdleTimeout,
            ProxyProtocol = reading.ProxyProtocol,
            Warnings = reading.Warnings,
            NoBackendsReason = nodePorts ? "no ready worker node (or ready endpoint)" : "no ready endpoint",
            BackendNotes = diagnostics,
        };
    }

    /// <summary>Without NodePorts (allocateLoadBalancerNodePorts: false) the pods are the only way in.</summary>
    private bool UsesNodePorts(V1ServiceSpec spec) =>
        _options.Backends == BackendMode.NodePorts && spec.AllocateLoadBalancerNodePorts != false;

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
