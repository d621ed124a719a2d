using k8s.Models;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping;

public sealed class ServiceReaderTests
{
    [Theory]
    [InlineData(DateTimeKind.Utc)]
    [InlineData(DateTimeKind.Unspecified)]
    [InlineData(DateTimeKind.Local)]
    public void Read_CreationTimestamp_IsTheSameInstantWhateverTheKind(DateTimeKind kind)
    {
        var utc = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        var service = Service();
        service.Metadata.CreationTimestamp = kind switch
        {
            DateTimeKind.Local => utc.ToLocalTime(),
            _ => DateTime.SpecifyKind(utc, kind),
        };

        var reading = ServiceReader.Read(service, "default", LoadBalancingPolicyNames.Default);

        Assert.Equal(new DateTimeOffset(utc), reading.Spec!.CreatedAt);
        Assert.Equal(TimeSpan.Zero, reading.Spec.CreatedAt.Offset);
    }

    [Fact]
    public void Read_NoNamespace_UsesTheGivenDefault_AndNoTimestampIsDefault()
    {
        var service = Service(ns: "");

        var reading = ServiceReader.Read(service, "fallback", LoadBalancingPolicyNames.Default);

        Assert.True(reading.Succeeded, string.Join("; ", reading.Errors));
        Assert.Equal("fallback", reading.Spec!.Namespace);
        Assert.Equal(default, reading.Spec.CreatedAt);
    }

    [Fact]
    public void Read_BadAnnotationWithValidSpec_KeepsTheSpecUsable()
    {
        var service = Service();
        service.Metadata.Annotations["littlelb.io/health-check-enabled"] = "perhaps";

        var reading = ServiceReader.Read(service, "default", LoadBalancingPolicyNames.Default);

        Assert.False(reading.Succeeded);
        Assert.True(reading.SpecIsValid);
        Assert.Equal(["annotation littlelb.io/health-check-enabled: 'perhaps' must be \"true\" or \"false\""], reading.Errors);
    }

    [Fact]
    public void Read_NoSpec_IsAPortsError()
    {
        var service = new V1Service { Metadata = new V1ObjectMeta { Name = "web" } };

        var reading = ServiceReader.Read(service, "default", LoadBalancingPolicyNames.Default);

        Assert.False(reading.SpecIsValid);
        Assert.Equal(["spec.ports: ports: 0 ports given; a Service needs 1 to 16"], reading.Errors);
    }
}
