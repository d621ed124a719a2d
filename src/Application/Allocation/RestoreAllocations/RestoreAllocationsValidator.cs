using FluentValidation;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Application.Allocation.RestoreAllocations;

/// <summary>Only the shape of the command: entries are checked one by one by the handler.</summary>
public sealed class RestoreAllocationsValidator : AbstractValidator<RestoreAllocations>
{
    public RestoreAllocationsValidator()
    {
        RuleFor(command => command.Services)
            .NotNull()
            .WithMessage("services: a list (possibly empty) is required");
        RuleForEach(command => command.Services)
            .NotNull()
            .WithMessage("services: an entry is null");
    }
}

public sealed class RestoredServiceValidator : AbstractValidator<RestoredService>
{
    public RestoredServiceValidator()
    {
        RuleFor(entry => entry.Service)
            .NotNull()
            .WithMessage("service: a Service is required")
            .SetValidator(new ServiceSpecValidator());
        RuleFor(entry => entry.Ip)
            .Must(ip => IpAddressText.TryParse(ip, out _))
            .WithMessage(entry => $"status IP: {IpAddressText.InvalidAddressMessage(entry.Ip)}");
    }
}
