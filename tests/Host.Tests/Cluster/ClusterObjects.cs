using k8s.Models;

namespace LoadBalancer.Host.Tests.Cluster;

/// <summary>Cluster objects as an API server would hold them, built in a line.</summary>
internal static class ClusterObjects
{
    public static V1Service Service(string name, int port, int nodePort, string? loadBalancerIp = null, string? loadBalancerClass = null,
        string type = "LoadBalancer", string ns = "default", int targetPort = 0, DateTime? created = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, CreationTimestamp = created },
        Spec = new V1ServiceSpec
        {
            Type = type,
            LoadBalancerIP = loadBalancerIp,
            LoadBalancerClass = loadBalancerClass,
            Ports =
            [
                new V1ServicePort
                {
                    Name = "http",
                    Protocol = "TCP",
                    Port = port,
                    NodePort = nodePort,
                    TargetPort = targetPort == 0 ? null : (IntOrString)targetPort,
                },
            ],
        },
    };

    public static V1Node Node(string name, string internalIp, bool ready = true, bool worker = true) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = worker ? new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "" } : new Dictionary<string, string>(),
        },
        Status = new V1NodeStatus
        {
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = internalIp }],
            Conditions = [new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "False" }],
        },
    };

    /// <summary>The EndpointSlice of <paramref name="service"/> with one ready endpoint per address, all on port "http".</summary>
    public static V1EndpointSlice Slice(string service, int port, params string[] addresses) => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta
        {
            Name = service + "-slice",
            NamespaceProperty = "default",
            Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service },
        },
        AddressType = "IPv4",
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = port, Protocol = "TCP" }],
        Endpoints = [.. addresses.Select(address => new V1Endpoint
        {
            Addresses = [address],
            Conditions = new V1EndpointConditions { Ready = true },
        })],
    };

    public static string? IngressIp(V1Service? service) =>
        service?.Status?.LoadBalancer?.Ingress is { Count: > 0 } ingress ? ingress[0].Ip : null;
}
