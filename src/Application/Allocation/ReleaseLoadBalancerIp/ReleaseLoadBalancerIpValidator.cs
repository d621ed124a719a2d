using FluentValidation;

namespace LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;

public sealed class ReleaseLoadBalancerIpValidator : AbstractValidator<ReleaseLoadBalancerIp>
{
    public ReleaseLoadBalancerIpValidator()
    {
        RuleFor(command => command.Namespace)
            .Must(ServiceSpecValidator.BeDnsLabel)
            .WithMessage(command => $"namespace '{command.Namespace}' must be a DNS label");
        RuleFor(command => command.Name)
            .Must(ServiceSpecValidator.BeDnsLabel)
            .WithMessage(command => $"name '{command.Name}' must be a DNS label");
    }
}
