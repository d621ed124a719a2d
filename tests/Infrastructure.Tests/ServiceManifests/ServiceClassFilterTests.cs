using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

public sealed class ServiceClassFilterTests
{
    public static TheoryData<string?, bool, string, string?, bool> Cases => new()
    {
        // configured class, serve unclassed, service type, service class, ours
        { null, true, "LoadBalancer", null, true },
        { null, true, "LoadBalancer", "", true },
        { null, false, "LoadBalancer", null, false },
        { null, true, "LoadBalancer", "other.io/lb", false },
        { "littlelb.io/lb", true, "LoadBalancer", "littlelb.io/lb", true },
        { "littlelb.io/lb", false, "LoadBalancer", "littlelb.io/lb", true },
        { "littlelb.io/lb", true, "LoadBalancer", null, true },
        { "littlelb.io/lb", false, "LoadBalancer", null, false },
        { "littlelb.io/lb", true, "LoadBalancer", "other.io/lb", false },
        { "littlelb.io/lb", true, "LoadBalancer", "LittleLB.io/lb", false },
        { "littlelb.io/lb", true, "ClusterIP", "littlelb.io/lb", false },
        { null, true, "NodePort", null, false },
        { null, true, "ExternalName", null, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsOurs_FollowsTypeClassAndServeUnclassed(string? configuredClass, bool serveUnclassed, string type, string? serviceClass, bool expected)
    {
        var filter = new ServiceClassFilter(new KubernetesServiceOptions { LoadBalancerClass = configuredClass, ServeUnclassed = serveUnclassed });
        var service = Service();
        service.Spec.Type = type;
        service.Spec.LoadBalancerClass = serviceClass;

        Assert.Equal(expected, filter.IsOurs(service));
    }

    [Fact]
    public void IsOurs_ServiceWithoutSpec_IsNotOurs()
    {
        var service = Service();
        service.Spec = null;

        Assert.False(new ServiceClassFilter(new KubernetesServiceOptions()).IsOurs(service));
    }
}
