using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Application.Tests.Allocation;

public sealed class ServiceSpecDualStackTests
{
    private readonly ServiceSpecValidator _validator = new();

    private static ServiceSpec Spec() => new("shop", "web", [new("TCP", 80)]);

    private List<string> Errors(ServiceSpec spec) =>
        [.. _validator.Validate(spec).Errors.Select(error => ServiceSpecFields.Describe(LoadBalancer.Application.Common.Validation.ValidationError.From(error)))];

    [Fact]
    public void Validate_UnknownPolicy_NamesTheFieldAndTheQuotedValue()
    {
        var error = Assert.Single(Errors(Spec() with { IpFamilyPolicy = "Foo" }));

        Assert.Equal("spec.ipFamilyPolicy: 'Foo' is not one of SingleStack, PreferDualStack, RequireDualStack", error);
    }

    [Fact]
    public void Validate_SingleStackWithTwoFamilies_IsRefused()
    {
        var error = Assert.Single(Errors(Spec() with { IpFamilies = ["IPv4", "IPv6"] }));

        Assert.StartsWith("spec.ipFamilies: 'IPv4, IPv6' asks for two families", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownOrRepeatedFamily_IsRefused()
    {
        Assert.Contains("spec.ipFamilies[0]: 'ipv4' is not IPv4 or IPv6", Errors(Spec() with { IpFamilies = ["ipv4"] }));
        Assert.Contains(Errors(Spec() with { IpFamilies = ["IPv4", "IPv4"], IpFamilyPolicy = "PreferDualStack" }),
            error => error.Contains("must list at most 2 distinct families", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LoadBalancerIpOfTheOtherFamily_IsRefused()
    {
        var error = Assert.Single(Errors(Spec() with { IpFamilies = ["IPv6"], LoadBalancerIp = "127.0.125.5" }));

        Assert.Equal("spec.ipFamilies: 'IPv6' does not admit the explicit address '127.0.125.5'", error);
    }

    [Fact]
    public void Validate_TwoAddressesOfOneFamilyInTheAnnotation_IsRefused()
    {
        var error = Assert.Single(Errors(Spec() with { IpFamilyPolicy = "RequireDualStack", LoadBalancerIps = ["127.0.125.5", "127.0.125.6"] }));

        Assert.Contains("must list one or two addresses, at most one of each family", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ToRequest_DualStackPolicies_AskForBothFamilies_PrimaryFromIpFamiliesOrTheAddress()
    {
        Assert.Equal([IpFamily.IPv6, IpFamily.IPv4], (Spec() with { IpFamilyPolicy = "PreferDualStack", IpFamilies = ["IPv6"] }).ToRequest().Families);
        Assert.Equal([IpFamily.IPv6, IpFamily.IPv4], (Spec() with { IpFamilyPolicy = "RequireDualStack", LoadBalancerIp = "2001:db8::5" }).ToRequest().Families);
        Assert.Equal([IpFamily.IPv4, IpFamily.IPv6], (Spec() with { IpFamilyPolicy = "RequireDualStack" }).ToRequest().Families);
        Assert.Empty(Spec().ToRequest().Families);
    }
}
