using k8s.Models;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>The Services and Nodes the benchmarks put into the fake API server.</summary>
internal static class BenchObjects
{
    public static V1Service LoadBalancerService(string name, int port, int nodePort) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer",
            Ports = [new V1ServicePort { Name = "tcp", Protocol = "TCP", Port = port, NodePort = nodePort }],
        },
    };

    public static V1Node WorkerNode(string name, string internalIp) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "" },
        },
        Status = new V1NodeStatus
        {
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = internalIp }],
            Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }],
        },
    };

    public static string? IngressIp(V1Service? service) =>
        service?.Status?.LoadBalancer?.Ingress is { Count: > 0 } ingress ? ingress[0].Ip : null;
}
