using System.Net;
using k8s.Models;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Text;
using LoadBalancer.Infrastructure.ServiceManifests;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>Backends from outside the cluster: each ready worker's address with the port's NodePort.</summary>
internal static class NodePortBackends
{
    private const string ReadyCondition = "Ready";
    public const string LocalTrafficPolicy = "Local";

    /// <summary>Keeps a node out of every LoadBalancer Service's backends (kubeadm puts it on control-plane nodes).</summary>
    public const string ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers";

    public static List<PortBackends> Find(
        V1ServiceSpec spec,
        IReadOnlyList<ManifestPort> ports,
        IReadOnlyCollection<V1Node> nodes,
        NodeSelector workers,
        IReadOnlyList<string> addressTypes,
        IReadOnlyList<V1EndpointSlice> slices,
        List<string> diagnostics)
    {
        var readyWorkers = nodes.Where(node => node is not null && IsReadyWorker(node, workers)).ToList();
        foreach (var excluded in readyWorkers.Where(IsExcluded).OrderBy(node => node.Metadata.Name, StringComparer.Ordinal))
        {
            diagnostics.Add($"node {excluded.Metadata.Name}: skipped; label {ExcludeLabel} is {QuotedValue.Of(excluded.Metadata.Labels[ExcludeLabel])}");
        }

        var candidates = readyWorkers.Where(node => !IsExcluded(node));
        if (spec.ExternalTrafficPolicy == LocalTrafficPolicy)
        {
            // Local keeps the client's address by never forwarding between nodes, so only a node running one of the
            // Service's pods can answer. The EndpointSlices say which nodes do; kube-proxy's answer on healthCheckNodePort
            // (KubeProxyHealthCheck) covers the time the slices lag behind, for the nodes kept here.
            var local = EndpointSliceBackends.NodesWithReadyEndpoints(slices);
            candidates = candidates.Where(node => local.Contains(node.Metadata.Name));
        }

        var addressed = new List<(string Node, IPAddress Address)>();
        foreach (var node in candidates)
        {
            if (PreferredAddress(node, addressTypes) is { } address)
            {
                addressed.Add((node.Metadata.Name, address));
            }
            else
            {
                diagnostics.Add($"node {node.Metadata.Name}: skipped; no {string.Join(" or ", addressTypes)} address");
            }
        }

        var result = new List<PortBackends>(ports.Count);
        foreach (var entry in ports)
        {
            List<Endpoint> endpoints = [];
            if (entry.Port.NodePort is > 0 and <= 65535 and var nodePort)
            {
                endpoints = DesiredServiceMapper.Canonical(addressed.Select(node => new Endpoint(node.Address, nodePort, node.Node)));
            }
            else
            {
                diagnostics.Add($"{entry.Describe()}: no backends; spec.ports[{entry.Index}].nodePort is not allocated");
            }

            result.Add(new PortBackends(entry.ServicePort, endpoints));
        }

        return result;
    }

    /// <summary>
    /// A node being deleted is on its way out, so new connections are not sent there. An unschedulable (cordoned) node
    /// still runs kube-proxy and answers on its NodePorts, so it stays.
    /// </summary>
    private static bool IsReadyWorker(V1Node node, NodeSelector workers) =>
        !string.IsNullOrEmpty(node.Metadata?.Name)
        && node.Metadata.DeletionTimestamp is null
        && node.Status?.Conditions?.Any(condition => condition.Type == ReadyCondition && condition.Status == "True") == true
        && workers.Matches(node.Metadata.Labels);

    /// <summary>
    /// As the service controller of kubernetes/cloud-provider reads the label since kubernetes/kubernetes#131085: a value
    /// Go's strconv.ParseBool reads as false keeps the node; "true", an empty value or anything unreadable excludes it
    /// (before that change, the label excluded the node whatever its value).
    /// </summary>
    internal static bool IsExcluded(V1Node node) =>
        node.Metadata?.Labels?.TryGetValue(ExcludeLabel, out var value) == true
        && value is not ("0" or "f" or "F" or "false" or "FALSE" or "False");

    private static IPAddress? PreferredAddress(V1Node node, IReadOnlyList<string> addressTypes)
    {
        var addresses = node.Status?.Addresses ?? [];
        foreach (var type in addressTypes)
        {
            foreach (var address in addresses)
            {
                if (address.Type == type && IPAddress.TryParse(address.Address, out var parsed))
                {
                    return parsed;
                }
            }
        }

        return null;
    }
}
