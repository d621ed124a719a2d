using LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;
using ReleaseCommand = LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp.ReleaseLoadBalancerIp;

namespace LoadBalancer.Application.Tests.Allocation.ReleaseLoadBalancerIp;

public sealed class ReleaseLoadBalancerIpValidatorTests
{
    private readonly ReleaseLoadBalancerIpValidator _validator = new();

    [Fact]
    public void Validate_DnsLabels_HasNoErrors()
    {
        var result = _validator.Validate(new ReleaseCommand("kube-system", "dns-1"));

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void Validate_BadNamespaceAndName_ReportsBothNamingTheValues()
    {
        var result = _validator.Validate(new ReleaseCommand("Kube_System", "-web"));

        Assert.Equal(
            [
                ("Namespace", "namespace 'Kube_System' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"),
                ("Name", "name '-web' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"),
            ],
            result.Errors.Select(error => (error.PropertyName, error.ErrorMessage)));
    }

    [Fact]
    public void Validate_NullOrEmptyParts_AreRejected()
    {
        var result = _validator.Validate(new ReleaseCommand(null!, ""));

        Assert.Equal(["namespace (none) must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit", "name '' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"],
            result.Errors.Select(error => error.ErrorMessage));
    }
}
