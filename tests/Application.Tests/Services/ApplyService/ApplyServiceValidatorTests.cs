using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services.ApplyService;
using static LoadBalancer.Application.Tests.Services.ServiceFakes;
using static LoadBalancer.Application.Tests.TestData;
using ApplyCommand = LoadBalancer.Application.Services.ApplyService.ApplyService;

namespace LoadBalancer.Application.Tests.Services.ApplyService;

public sealed class ApplyServiceValidatorTests
{
    private readonly ApplyServiceValidator _validator = new();

    [Fact]
    public void Validate_GoodCommand_HasNoErrors()
    {
        var result = _validator.Validate(new ApplyCommand(Spec("web", null, 80), [Backends(80, "10.0.0.1:80")]));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }

    [Fact]
    public void Validate_UnknownPolicy_SaysWhichPoliciesExist()
    {
        var result = _validator.Validate(new ApplyCommand(Spec("web", null, 80), []) { Policy = "random" });

        Assert.Equal([$"policy: {LoadBalancingPolicyNames.UnknownMessage("random")}"], result.Errors.Select(error => error.ErrorMessage));
    }

    [Fact]
    public void Validate_BackendsForAPortTheServiceLacks_NamesThePort()
    {
        var result = _validator.Validate(new ApplyCommand(Spec("web", null, 80), [Backends(80, "10.0.0.1:80"), Backends(8080, "10.0.0.1:80")]));

        Assert.Equal(["backends: given for 8080, which the Service does not expose"], result.Errors.Select(error => error.ErrorMessage));
    }

    [Fact]
    public void Validate_BadSpecAndBadHealthCheck_ReportsEveryHealthCheckProblem_AndLeavesTheSpecToTheAllocationRequest()
    {
        var command = new ApplyCommand(Spec("Web", null, 70000), [])
        {
            HealthCheck = HealthCheckSettings.Default with { Interval = TimeSpan.Zero, HealthyThreshold = 0 },
        };

        var messages = Messages(_validator.Validate(command).Errors.Select(LoadBalancer.Application.Common.Validation.ValidationError.From));

        Assert.Equal(["health check interval 00:00:00 must be positive", "health check healthy threshold 0 must be at least 1"], messages);
    }

    [Fact]
    public void Validate_AffinityTimeoutNotPositive_IsRejectedWithTheValue()
    {
        var command = new ApplyCommand(Spec("web", null, 80), []) { AffinityTimeout = TimeSpan.Zero };

        var messages = _validator.Validate(command).Errors.Select(error => error.ErrorMessage);

        Assert.Equal(["affinity timeout 00:00:00 must be positive"], messages);
        Assert.True(_validator.Validate(command with { AffinityTimeout = TimeSpan.FromSeconds(1) }).IsValid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Validate_HealthCheckPortOutOfRange_NamesThePort(int port)
    {
        var command = new ApplyCommand(Spec("web", null, 80), []) { HealthCheck = HealthCheckSettings.Default with { Port = port } };

        var result = _validator.Validate(command);

        Assert.Equal([$"health check port {port} must be from 1 to 65535"], result.Errors.Select(error => error.ErrorMessage));
    }

    [Fact]
    public void Validate_HealthCheckPortInRange_HasNoErrors()
    {
        var command = new ApplyCommand(Spec("web", null, 80), []) { HealthCheck = HealthCheckSettings.Default with { Port = 32000 } };

        Assert.True(_validator.Validate(command).IsValid);
    }
}
