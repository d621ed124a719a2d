using System.Globalization;
using System.Net;
using k8s.Models;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.ServiceManifests;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>Backends from inside the cluster: the addresses of the Service's ready pods, from its EndpointSlices.</summary>
internal static class EndpointSliceBackends
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>
    /// The slices that can give backends: IPv4 or IPv6 addresses (an FQDN slice names hosts this does not resolve),
    /// belonging to this Service (the caller filters; a slice of another Service here would send its traffic astray).
    /// Ordered by name, so that what is reported comes in one order.
    /// </summary>
    public static List<V1EndpointSlice> Usable(IReadOnlyCollection<V1EndpointSlice> slices, ServiceKey service, List<string> diagnostics)
    {
        var usable = new List<V1EndpointSlice>();
        foreach (var slice in slices.Where(slice => slice is not null).OrderBy(slice => slice.Metadata?.Name, StringComparer.Ordinal))
        {
            var name = slice.Metadata?.Name;
            if (slice.AddressType is not ("IPv4" or "IPv6"))
            {
                diagnostics.Add($"EndpointSlice {name}: skipped; addressType {slice.AddressType} is not IPv4 or IPv6");
            }
            else if (slice.Metadata?.Labels is { } labels && labels.TryGetValue(ServiceNameLabel, out var owner) && owner != service.Name)
            {
                diagnostics.Add($"EndpointSlice {name}: skipped; it belongs to Service {owner}, not {service.Name}");
            }
            else if (!string.IsNullOrEmpty(slice.Metadata?.NamespaceProperty) && slice.Metadata.NamespaceProperty != service.Namespace)
            {
                diagnostics.Add($"EndpointSlice {name}: skipped; it is in namespace {slice.Metadata.NamespaceProperty}, not {service.Namespace}");
            }
            else
            {
                usable.Add(slice);
            }
        }

        return usable;
    }

    /// <summary>
    /// A ready endpoint that is not terminating. The API reads a missing <c>ready</c> as ready. A terminating endpoint
    /// may still serve the connections it has, but gets no new ones.
    /// </summary>
    public static bool TakesNewConnections(V1Endpoint endpoint) =>
        endpoint.Conditions?.Ready != false && endpoint.Conditions?.Terminating != true;

    public static HashSet<string> NodesWithReadyEndpoints(IEnumerable<V1EndpointSlice> slices) =>
        [.. slices
            .SelectMany(slice => slice.Endpoints ?? [])
            .Where(endpoint => endpoint is not null && TakesNewConnections(endpoint) && !string.IsNullOrEmpty(endpoint.NodeName))
            .Select(endpoint => endpoint.NodeName)];

    public static List<PortBackends> Find(IReadOnlyList<ManifestPort> ports, IReadOnlyList<V1EndpointSlice> slices, List<string> diagnostics)
    {
        var result = new List<PortBackends>(ports.Count);
        foreach (var manifest in ports)
        {
            var endpoints = new List<Endpoint>();
            foreach (var slice in slices)
            {
                if (SlicePort(manifest, slice, diagnostics) is { } number)
                {
                    endpoints.AddRange(Addresses(slice, number, diagnostics));
                }
            }

            result.Add(new PortBackends(manifest.ServicePort, DesiredServiceMapper.Canonical(endpoints)));
        }

        return result;
    }

    /// <summary>
    /// The port the slice's endpoints serve the Service port on. As kube-proxy does, the slice's port entries are found
    /// by the Service port's name (unnamed: empty) and protocol: the EndpointSlice controller writes under that name the
    /// number it resolved the targetPort to for the pods of that slice, so a named targetPort can differ per slice.
    /// An entry without a number means "all ports"; then the targetPort tells, if it is a number.
    /// </summary>
    private static int? SlicePort(ManifestPort manifest, V1EndpointSlice slice, List<string> diagnostics)
    {
        var port = manifest.Port;
        var name = port.Name ?? string.Empty;
        var protocol = port.Protocol ?? TransportProtocolNames.Tcp;
        var entry = slice.Ports?.FirstOrDefault(candidate => candidate is not null
            && (candidate.Name ?? string.Empty) == name
            && string.Equals(candidate.Protocol ?? TransportProtocolNames.Tcp, protocol, StringComparison.OrdinalIgnoreCase));
        if (entry is null)
        {
            if (slice.Endpoints is { Count: > 0 })
            {
                diagnostics.Add($"EndpointSlice {slice.Metadata?.Name}: no port named '{name}' ({protocol}) for {manifest.Describe()}");
            }

            return null;
        }

        if (entry.Port is { } number)
        {
            if (number is >= ServicePort.MinPort and <= ServicePort.MaxPort)
            {
                return number;
            }

            diagnostics.Add($"EndpointSlice {slice.Metadata?.Name}: port '{name}' is {number}, not from {ServicePort.MinPort} to {ServicePort.MaxPort}");
            return null;
        }

        var target = port.TargetPort?.Value;
        if (string.IsNullOrEmpty(target))
        {
            return port.Port;
        }

        if (int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var targetNumber) && targetNumber is >= ServicePort.MinPort and <= ServicePort.MaxPort)
        {
            return targetNumber;
        }

        diagnostics.Add($"EndpointSlice {slice.Metadata?.Name}: port '{name}' has no number and spec.ports[{manifest.Index}].targetPort '{target}' is no port number");
        return null;
    }

    private static IEnumerable<Endpoint> Addresses(V1EndpointSlice slice, int port, List<string> diagnostics)
    {
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            if (endpoint is null || !TakesNewConnections(endpoint))
            {
                continue;
            }

            foreach (var text in endpoint.Addresses ?? [])
            {
                if (IPAddress.TryParse(text, out var address))
                {
                    yield return new Endpoint(address, port, endpoint.NodeName);
                }
                else
                {
                    diagnostics.Add($"EndpointSlice {slice.Metadata?.Name}: address '{text}' skipped; not an IP address");
                }
            }
        }
    }
}
