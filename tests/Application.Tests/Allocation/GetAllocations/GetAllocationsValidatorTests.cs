using LoadBalancer.Application.Allocation.GetAllocations;
using GetAllocationsQuery = LoadBalancer.Application.Allocation.GetAllocations.GetAllocations;

namespace LoadBalancer.Application.Tests.Allocation.GetAllocations;

public sealed class GetAllocationsValidatorTests
{
    private readonly GetAllocationsValidator _validator = new();

    [Theory]
    [InlineData(null)]
    [InlineData("kube-system")]
    public void Validate_NoNamespaceOrDnsLabel_HasNoErrors(string? ns)
    {
        Assert.Empty(_validator.Validate(new GetAllocationsQuery(ns)).Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Kube_System")]
    public void Validate_NamespaceNotDnsLabel_IsRejectedNamingValue(string ns)
    {
        var error = Assert.Single(_validator.Validate(new GetAllocationsQuery(ns)).Errors);

        Assert.Equal("Namespace", error.PropertyName);
        Assert.Equal($"namespace '{ns}' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit", error.ErrorMessage);
    }
}
