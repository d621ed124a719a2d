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
        RuleFor(command => command.DrainTimeout)
            .Must(timeout => timeout is null || timeout >= TimeSpan.Zero)
            .WithMessage(command => $"drainTimeout: '{command.DrainTimeout}' must not be negative");
    }
}
