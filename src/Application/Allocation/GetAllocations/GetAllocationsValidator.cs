using FluentValidation;

namespace LoadBalancer.Application.Allocation.GetAllocations;

public sealed class GetAllocationsValidator : AbstractValidator<GetAllocations>
{
    public GetAllocationsValidator()
    {
        RuleFor(query => query.Namespace)
            .Must(ServiceSpecValidator.BeDnsLabel)
            .When(query => query.Namespace is not null)
            .WithMessage(query => $"namespace '{query.Namespace}' must be a DNS label");
    }
}
