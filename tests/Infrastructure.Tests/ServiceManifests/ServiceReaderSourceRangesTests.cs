using k8s.Models;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.ServiceManifests;
using static LoadBalancer.Infrastructure.Tests.Kubernetes.Mapping.ClusterObjects;

namespace LoadBalancer.Infrastructure.Tests.ServiceManifests;

/// <summary>spec.loadBalancerSourceRanges and the annotation service.beta.kubernetes.io/load-balancer-source-ranges.</summary>
public sealed class ServiceReaderSourceRangesTests
{
    private const string AnnotationKey = "service.beta.kubernetes.io/load-balancer-source-ranges";

    [Fact]
    public void Read_SpecField_IsCarriedAsWritten()
    {
        var service = Service();
        service.Spec.LoadBalancerSourceRanges = ["10.0.0.0/8", "2001:db8::/32"];

        var spec = Read(service).Spec;

        Assert.Equal(["10.0.0.0/8", "2001:db8::/32"], spec.SourceRanges);
        Assert.False(spec.SourceRangesFromAnnotation);
    }

    [Fact]
    public void Read_Annotation_IsSplitAtCommasAndTrimmed()
    {
        var service = Service();
        service.Metadata.Annotations[AnnotationKey] = " 10.0.0.0/8, 192.168.0.0/16 ,2001:db8::/32";

        var spec = Read(service).Spec;

        Assert.Equal(["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"], spec.SourceRanges);
        Assert.True(spec.SourceRangesFromAnnotation);
    }

    [Fact]
    public void Read_BothSet_TheSpecFieldWins_AndTheAnnotationIsIgnored()
    {
        var service = Service();
        service.Spec.LoadBalancerSourceRanges = ["10.0.0.0/8"];
        service.Metadata.Annotations[AnnotationKey] = "banana";

        var spec = Read(service).Spec;

        Assert.Equal(["10.0.0.0/8"], spec.SourceRanges);
        Assert.False(spec.SourceRangesFromAnnotation);
        Assert.Empty(Errors(spec));
    }

    [Fact]
    public void Read_EmptySpecField_FallsBackToTheAnnotation()
    {
        var service = Service();
        service.Spec.LoadBalancerSourceRanges = [];
        service.Metadata.Annotations[AnnotationKey] = "192.168.0.0/16";

        Assert.Equal(["192.168.0.0/16"], Read(service).Spec.SourceRanges);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Read_NeitherSet_OrABlankAnnotation_RestrictsNothing(string? annotation)
    {
        var service = Service();
        if (annotation is not null)
        {
            service.Metadata.Annotations[AnnotationKey] = annotation;
        }

        Assert.Empty(Read(service).Spec.SourceRanges);
    }

    [Fact]
    public void Read_BadValueInTheSpecField_IsAnErrorNamingItsIndex_WithTheValueQuoted()
    {
        var service = Service();
        service.Spec.LoadBalancerSourceRanges = ["10.0.0.0/8", "banana", null!];

        var errors = Errors(Read(service).Spec);

        Assert.Equal(
        [
            "spec.loadBalancerSourceRanges[1]: 'banana' is not a CIDR: a CIDR is an address, '/' and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32",
            "spec.loadBalancerSourceRanges[2]: '' is not a CIDR: it is empty",
        ], errors);
    }

    [Fact]
    public void Read_BadValueInTheAnnotation_IsAnErrorNamingTheAnnotation_EvenAnEmptyEntry()
    {
        var service = Service();
        service.Metadata.Annotations[AnnotationKey] = "10.0.0.0/33,,10.0.0.0/8";

        var errors = Errors(Read(service).Spec);

        Assert.Equal(
        [
            $"metadata.annotations[\"{AnnotationKey}\"]: '10.0.0.0/33' is not a CIDR: prefix length '33' must be a number from 0 to 32",
            $"metadata.annotations[\"{AnnotationKey}\"]: '' is not a CIDR: it is empty",
        ], errors);
    }

    private static List<string> Errors(ServiceSpec spec) =>
        [.. new ServiceSpecValidator().Validate(spec).Errors.Select(error => ServiceSpecFields.Describe(ValidationError.From(error)))];

    private static ServiceReading Read(V1Service service) =>
        ServiceReader.Read(service, LoadBalancingPolicyNames.Default) ?? throw new InvalidOperationException("the test Service has a name");
}
