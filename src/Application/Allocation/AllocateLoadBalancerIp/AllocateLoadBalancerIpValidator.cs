using FluentValidation;

namespace LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;

public sealed class AllocateLoadBalancerIpValidator : AbstractValidator<AllocateLoadBalancerIp>
{
    public AllocateLoadBalancerIpValidator()
    {
        RuleFor(command => command.Service)
            .NotNull()
            .WithMessage("service: a Service is required")
            .SetValidator(new ServiceSpecValidator());
    }
}
