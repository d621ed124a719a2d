using k8s.Models;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

/// <summary>Builds the cluster objects the mapping reads, with only the fields that matter set.</summary>
internal static class ClusterObjects
{
    public static V1Service Service(string name = "web", string ns = "shop", params V1ServicePort[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Annotations = new Dictionary<string, string>() },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer",
            Ports = ports.Length > 0 ? [.. ports] : [Port("http", 80, nodePort: 30080, targetPort: "web")],
        },
    };

    public static V1ServicePort Port(string? name, int port, int? nodePort = null, string? targetPort = null, string protocol = "TCP") => new()
    {
        Name = name,
        Port = port,
        NodePort = nodePort,
        TargetPort = targetPort,
        Protocol = protocol,
    };

    public static V1Node Node(string name, string? internalIp, bool ready = true, string? externalIp = null, Dictionary<string, string>? labels = null)
    {
        var addresses = new List<V1NodeAddress> { new() { Type = "Hostname", Address = name } };
        if (externalIp is not null)
        {
            addresses.Add(new V1NodeAddress { Type = "ExternalIP", Address = externalIp });
        }

        if (internalIp is not null)
        {
            addresses.Add(new V1NodeAddress { Type = "InternalIP", Address = internalIp });
        }

        return new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = labels ?? new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "" } },
            Status = new V1NodeStatus
            {
                Addresses = addresses,
                Conditions =
                [
                    new V1NodeCondition { Type = "MemoryPressure", Status = "False" },
                    new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "Unknown" },
                ],
            },
        };
    }

    public static V1EndpointSlice Slice(string name, IEnumerable<Discoveryv1EndpointPort> ports, params V1Endpoint[] endpoints) =>
        Slice(name, "IPv4", ports, endpoints);

    public static V1EndpointSlice Slice(string name, string addressType, IEnumerable<Discoveryv1EndpointPort> ports, params V1Endpoint[] endpoints) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = "shop",
            Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "web" },
        },
        AddressType = addressType,
        Ports = [.. ports],
        Endpoints = [.. endpoints],
    };

    public static Discoveryv1EndpointPort SlicePort(string? name, int? port, string protocol = "TCP") =>
        new() { Name = name, Port = port, Protocol = protocol };

    public static V1Endpoint Pod(string address, string? node = null, bool? ready = true, bool? terminating = null) => new()
    {
        Addresses = [address],
        NodeName = node,
        Conditions = ready is null && terminating is null ? null : new V1EndpointConditions { Ready = ready, Terminating = terminating },
    };
}
