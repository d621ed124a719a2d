using LoadBalancer.Infrastructure.ServiceManifests;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.ServiceManifests;

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
        var filter = new ServiceClassFilter(configuredClass, serveUnclassed);
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

        Assert.False(new ServiceClassFilter(null, serveUnclassed: true).IsOurs(service));
    }

    public static TheoryData<string?, string?, string> Descriptions => new()
    {
        // configured class, service class, why it is not ours
        { null, "other.io/lb", "its spec.loadBalancerClass 'other.io/lb' is not ours (none configured)" },
        { "littlelb.io/lb", "other.io/lb", "its spec.loadBalancerClass 'other.io/lb' is not ours ('littlelb.io/lb')" },
        { "littlelb.io/lb", null, "it has no spec.loadBalancerClass and unclassed Services are ignored (--ignore-unclassed)" },
        { "littlelb.io/lb", "", "it has no spec.loadBalancerClass and unclassed Services are ignored (--ignore-unclassed)" },
    };

    [Theory]
    [MemberData(nameof(Descriptions))]
    public void Describe_NamesTheServicesClassAndOurs_OrTheIgnoredUnclassed(string? configuredClass, string? serviceClass, string expected)
    {
        var service = Service();
        service.Spec.LoadBalancerClass = serviceClass;

        Assert.Equal(expected, new ServiceClassFilter(configuredClass, serveUnclassed: false).Describe(service));
    }
}
