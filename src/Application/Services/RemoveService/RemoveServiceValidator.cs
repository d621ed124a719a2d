using FluentValidation;
using LoadBalancer.Application.Allocation;

namespace LoadBalancer.Application.Services.RemoveService;

public sealed class RemoveServiceValidator : AbstractValidator<RemoveService>
{
    public RemoveServiceValidator()
    {
        RuleFor(command => command.Namespace)
            .Must(ServiceSpecValidator.BeDnsLabel)
            .WithMessage(command => $"namespace '{command.Namespace}' must be a DNS label");
        RuleFor(command => command.Name)
            .Must(ServiceSpecValidator.BeDnsLabel)
            .WithMessage(command => $"name '{command.Name}' must be a DNS label");
    }
}
