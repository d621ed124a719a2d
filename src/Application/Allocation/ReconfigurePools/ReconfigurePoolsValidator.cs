using FluentValidation;

namespace LoadBalancer.Application.Allocation.ReconfigurePools;

/// <summary>Every problem of the new options at once, each naming its key path (pools[1].addresses[0]: …).</summary>
public sealed class ReconfigurePoolsValidator : AbstractValidator<ReconfigurePools>
{
    public ReconfigurePoolsValidator()
    {
        RuleFor(command => command.Options)
            .NotNull()
            .WithMessage("options: the new allocation options are required");
        RuleFor(command => command.Options)
            .Custom((options, context) =>
            {
                foreach (var error in PoolSetFactory.Build(options).Errors)
                {
                    context.AddFailure(KeyOf(error), error);
                }
            })
            .When(command => command.Options is not null);
    }

    /// <summary>The key path a message starts with: "pools[1].addresses[0]" of "pools[1].addresses[0]: …".</summary>
    private static string KeyOf(string error) =>
        error.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0 ? error[..colon] : "options";
}
