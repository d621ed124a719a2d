using FluentValidation;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Common.Validation;

namespace LoadBalancer.Application.Services.RemoveService;

public sealed class RemoveServiceValidator : AbstractValidator<RemoveService>
{
    public RemoveServiceValidator()
    {
        RuleFor(command => command.Namespace)
            .MustBeDnsLabel("namespace");
        RuleFor(command => command.Name)
            .MustBeDnsLabel("name");
    }
}
