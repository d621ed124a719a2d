using Microsoft.Extensions.Options;

namespace LoadBalancer.Application.Allocation;

/// <summary>For <c>ValidateOnStart</c>: every problem of the pools at once, each naming its key path.</summary>
public sealed class AllocationOptionsValidator : IValidateOptions<AllocationOptions>
{
    public ValidateOptionsResult Validate(string? name, AllocationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var built = PoolSetFactory.Build(options);
        return built.Succeeded ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(built.Errors);
    }
}
