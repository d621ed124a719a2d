using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using static LoadBalancer.Application.Tests.TestData;
using RestoreCommand = LoadBalancer.Application.Allocation.RestoreAllocations.RestoreAllocations;

namespace LoadBalancer.Application.Tests.Allocation.RestoreAllocations;

public sealed class RestoreAllocationsValidatorTests
{
    private readonly RestoreAllocationsValidator _validator = new();
    private readonly RestoredServiceValidator _entryValidator = new();

    [Fact]
    public void Validate_EmptyList_HasNoErrors()
    {
        Assert.Empty(_validator.Validate(new RestoreCommand([])).Errors);
    }

    [Fact]
    public void Validate_InvalidEntries_AreLeftToTheHandler()
    {
        var command = new RestoreCommand([new RestoredService(Spec("Bad"), "300.1.1.1")]);

        Assert.Empty(_validator.Validate(command).Errors);
    }

    [Fact]
    public void Validate_NullList_IsRejected()
    {
        var error = Assert.Single(_validator.Validate(new RestoreCommand(null!)).Errors);

        Assert.Equal("Services", error.PropertyName);
        Assert.Equal("services: a list (possibly empty) is required", error.ErrorMessage);
    }

    [Fact]
    public void Validate_NullEntry_IsRejectedAtItsIndex()
    {
        var command = new RestoreCommand([new RestoredService(Spec("web"), "192.168.0.230"), null!]);

        var error = Assert.Single(_validator.Validate(command).Errors);

        Assert.Equal("Services[1]", error.PropertyName);
        Assert.Equal("services: an entry is null", error.ErrorMessage);
    }

    [Fact]
    public void ValidateEntry_ValidServiceAndIp_HasNoErrors()
    {
        Assert.Empty(_entryValidator.Validate(new RestoredService(Spec("web"), "192.168.0.230")).Errors);
    }

    [Fact]
    public void ValidateEntry_BadServiceAndBadIp_ReportsAllErrors()
    {
        var entry = new RestoredService(Spec("web", 0) with { LoadBalancerIp = "1.2.3" }, "");

        var result = _entryValidator.Validate(entry);

        Assert.Equal(
            [
                ("Service.Ports[0].Port", "port 0 must be between 1 and 65535"),
                ("Service.LoadBalancerIp", "loadBalancerIP: invalid IP address: '1.2.3'"),
                ("Ip", "status IP: invalid IP address: "),
            ],
            result.Errors.Select(error => (error.PropertyName, error.ErrorMessage)));
    }

    [Fact]
    public void ValidateEntry_NullService_IsRejectedOnce()
    {
        var error = Assert.Single(_entryValidator.Validate(new RestoredService(null!, "192.168.0.230")).Errors);

        Assert.Equal("service: a Service is required", error.ErrorMessage);
    }
}
