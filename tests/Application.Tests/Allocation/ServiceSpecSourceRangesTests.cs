using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Addressing;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Allocation;

/// <summary>spec.loadBalancerSourceRanges (or its annotation) through <see cref="ServiceSpecValidator"/>: a bad range makes the Service invalid.</summary>
public sealed class ServiceSpecSourceRangesTests
{
    private const string Annotation = "metadata.annotations[\"service.beta.kubernetes.io/load-balancer-source-ranges\"]";
    private readonly ServiceSpecValidator _validator = new();

    [Fact]
    public void Validate_ValidRanges_HaveNoErrors_AndParse()
    {
        var spec = Spec("web", 80) with { SourceRanges = ["10.0.0.0/8", " 192.168.1.0/24 ", "2001:db8::/32", "10.1.2.3/16"] };

        Assert.Empty(_validator.Validate(spec).Errors);
        Assert.Equal(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "10.1.0.0/16"], spec.ParseSourceRanges().Select(range => range.ToString()));
    }

    [Fact]
    public void Validate_BadRangesInTheField_EachNamedByIndex_WithTheValueQuoted()
    {
        var spec = Spec("web", 80) with { SourceRanges = ["10.0.0.0/8", "banana", "10.0.0.0/33", ""] };

        var errors = Describe(spec);

        Assert.Equal(
        [
            "spec.loadBalancerSourceRanges[1]: 'banana' is not a CIDR: a CIDR is an address, '/' and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32",
            "spec.loadBalancerSourceRanges[2]: '10.0.0.0/33' is not a CIDR: prefix length '33' must be a number from 0 to 32",
            "spec.loadBalancerSourceRanges[3]: '' is not a CIDR: it is empty",
        ], errors);
    }

    [Fact]
    public void Validate_BadRangeInTheAnnotation_NamesTheAnnotation()
    {
        var spec = Spec("web", 80) with { SourceRanges = ["10.0.0.0/8", "banana"], SourceRangesFromAnnotation = true };

        var error = Assert.Single(Describe(spec));

        Assert.Equal($"{Annotation}: 'banana' is not a CIDR: a CIDR is an address, '/' and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32", error);
    }

    [Fact]
    public void Validate_MoreRangesThanServed_IsRefusedWithTheCount()
    {
        var spec = Spec("web", 80) with { SourceRanges = [.. Enumerable.Range(0, ServiceSpecValidator.MaxSourceRanges + 1).Select(i => $"10.{i / 256}.{i % 256}.0/24")] };

        var error = Assert.Single(Describe(spec));

        Assert.Equal("spec.loadBalancerSourceRanges: 257 source ranges given; at most 256 are served (use a firewall for more)", error);
    }

    [Fact]
    public void AsksSameAs_ComparesTheRangesByValue()
    {
        var spec = Spec("web", 80) with { SourceRanges = ["10.0.0.0/8"] };

        Assert.True(spec.AsksSameAs(spec with { SourceRanges = ["10.0.0.0/8"] }));
        Assert.False(spec.AsksSameAs(spec with { SourceRanges = ["10.0.0.0/16"] }));
        Assert.False(spec.AsksSameAs(spec with { SourceRanges = [] }));
        Assert.False(spec.AsksSameAs(spec with { SourceRangesFromAnnotation = true }));
    }

    private List<string> Describe(ServiceSpec spec) =>
        [.. _validator.Validate(spec).Errors.Select(error => ServiceSpecFields.Describe(ValidationError.From(error)))];
}
