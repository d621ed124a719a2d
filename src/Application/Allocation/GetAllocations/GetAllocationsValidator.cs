using FluentValidation;
using LoadBalancer.Application.Common.Validation;

namespace LoadBalancer.Application.Allocation.GetAllocations;

public sealed class GetAllocationsValidator : AbstractValidator<GetAllocations>
{
    public GetAllocationsValidator()
    {
        RuleFor(query => query.Namespace)
            .MustBeDnsLabel("namespace")
            .When(query => query.Namespace is not null);
    }
}
