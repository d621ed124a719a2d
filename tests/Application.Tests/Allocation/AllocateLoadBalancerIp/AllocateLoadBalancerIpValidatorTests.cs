using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using static LoadBalancer.Application.Tests.TestData;
using AllocateCommand = LoadBalancer.Application.Allocation.AllocateLoadBalancerIp.AllocateLoadBalancerIp;

namespace LoadBalancer.Application.Tests.Allocation.AllocateLoadBalancerIp;

public sealed class AllocateLoadBalancerIpValidatorTests
{
    private readonly AllocateLoadBalancerIpValidator _validator = new();

    [Fact]
    public void Validate_NullService_IsRejectedOnce()
    {
        var result = _validator.Validate(new AllocateCommand(null!));

        var error = Assert.Single(result.Errors);
        Assert.Equal("Service", error.PropertyName);
        Assert.Equal("service: a Service is required", error.ErrorMessage);
    }

    [Fact]
    public void Validate_ValidService_HasNoErrors()
    {
        var result = _validator.Validate(Command(Spec("web", 80, 443) with { LoadBalancerIp = "192.168.0.230" }));

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void Validate_InvalidService_ReportsEveryProblemUnderService()
    {
        var spec = new ServiceSpec("default", "Web", [new("SCTP", 80)], LoadBalancerIp: "300.1.1.1");

        var result = _validator.Validate(Command(spec));

        Assert.Equal(
            [
                ("Service.Name", "name 'Web' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"),
                ("Service.Ports[0].Protocol", "protocol 'SCTP' of port 80 must be TCP or UDP"),
                ("Service.LoadBalancerIp", "loadBalancerIP: invalid IP address: '300.1.1.1'"),
            ],
            result.Errors.Select(error => (error.PropertyName, error.ErrorMessage)));
    }

    private static AllocateCommand Command(ServiceSpec spec) => new(spec);
}
