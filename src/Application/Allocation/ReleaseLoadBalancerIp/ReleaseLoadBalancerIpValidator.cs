using FluentValidation;
using LoadBalancer.Application.Common.Validation;

namespace LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;

public sealed class ReleaseLoadBalancerIpValidator : AbstractValidator<ReleaseLoadBalancerIp>
{
    public ReleaseLoadBalancerIpValidator()
    {
        RuleFor(command => command.Namespace)
            .MustBeDnsLabel("namespace");
        RuleFor(command => command.Name)
            .MustBeDnsLabel("name");
    }
}
