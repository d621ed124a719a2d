using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Cluster;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.BadInput;

/// <summary>
/// The bad inputs of the issues that never reach the daemon: the API server (1.26) refuses to store such a Service,
/// naming the field, so the daemon's own checks for them (tested against the fake API server and in the unit tests)
/// only matter for the standalone file. (spec.loadBalancerIP is not checked by 1.26: a value that is no IP reaches the
/// daemon, in <see cref="BadInputTests"/>.) Kept here so that a newer API server that lets one through shows up as a
/// failure, and that case then belongs in <see cref="BadInputTests"/>.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class ApiServerRefusalTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases => new()
    {
        // The API server's own spelling of the field.
        { "source-ranges-field-not-a-cidr", "spec.LoadBalancerSourceRanges" },
        { "source-ranges-annotation-not-a-cidr", "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]" },
        { "no-ports", "spec.ports" },
        { "port-out-of-range", "spec.ports[0].port" },
        { "require-dual-stack-on-a-single-stack-cluster", "spec.ipFamilyPolicy" },
        { "affinity-timeout-out-of-range", "spec.sessionAffinityConfig.clientIP.timeoutSeconds" },
    };

    [KubeTheory]
    [MemberData(nameof(Cases))]
    public async Task BadService_IsRefusedByTheApiServer_NamingTheField(string bad, string field)
    {
        await using var cluster = await TestCluster.CreateAsync(controlPlane);
        var service = Service(cluster, bad);

        var refusal = await Assert.ThrowsAsync<HttpOperationException>(
            () => cluster.Admin.CoreV1.CreateNamespacedServiceAsync(service, cluster.Namespace));

        output.WriteLine($"{bad}: {(int)refusal.Response.StatusCode} {refusal.Response.Content}");
        Assert.Equal(422, (int)refusal.Response.StatusCode);
        Assert.Contains($"\"field\":\"{field}\"", refusal.Response.Content, StringComparison.Ordinal);
        Assert.Empty((await cluster.Admin.CoreV1.ListNamespacedServiceAsync(cluster.Namespace)).Items);
    }

    private static V1Service Service(TestCluster cluster, string bad)
    {
        var spec = new V1ServiceSpec
        {
            Type = "LoadBalancer",
            LoadBalancerClass = cluster.LoadBalancerClass,
            Ports = [new V1ServicePort { Port = 8080, Protocol = "TCP" }],
        };
        var metadata = new V1ObjectMeta { Name = "bad" };
        switch (bad)
        {
            case "source-ranges-field-not-a-cidr":
                spec.LoadBalancerSourceRanges = ["127.0.0.0/8", "banana"];
                break;
            case "source-ranges-annotation-not-a-cidr":
                metadata.Annotations = new Dictionary<string, string> { ["service.beta.kubernetes.io/load-balancer-source-ranges"] = "127.0.0.0/8,banana" };
                break;
            case "no-ports":
                spec.Ports = [];
                break;
            case "port-out-of-range":
                spec.Ports[0].Port = 70000;
                break;
            case "require-dual-stack-on-a-single-stack-cluster":
                spec.IpFamilyPolicy = "RequireDualStack";
                break;
            case "affinity-timeout-out-of-range":
                spec.SessionAffinity = "ClientIP";
                spec.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 0 } };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(bad), bad, "no such case");
        }

        return new V1Service { Metadata = metadata, Spec = spec };
    }
}
