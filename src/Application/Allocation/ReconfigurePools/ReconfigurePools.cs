using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Allocation;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Allocation.ReconfigurePools;

/// <summary>
/// Replaces the pool set with the one <see cref="Options"/> describes, at once and keeping every Service on its IP
/// (a SIGHUP reload). Refused, changing nothing, when the options are not valid or when an IP in use would be in no pool
/// of the new set, or in a pool that does not admit a Service on it. After an applied reload the caller enqueues every
/// Service, so that the new pools are used and Services refused before are tried again.
/// </summary>
public sealed record ReconfigurePools(AllocationOptions Options) : ICommand<ReconfigurePoolsResponse>;

/// <param name="Applied">True when the new pools are in use.</param>
public sealed record ReconfigurePoolsResponse : IValidationFailureResponse<ReconfigurePoolsResponse>
{
    public bool Applied { get; init; }

    /// <summary>Why the reload was refused, every reason (the options' problems, or the leases that would not fit).</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary>The pools in use after the command: the new ones when applied, else those kept.</summary>
    public IReadOnlyList<PoolUsage> Pools { get; init; } = [];

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public static ReconfigurePoolsResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors, Reasons = [.. errors.Select(error => error.Message)] };
}

public sealed class ReconfigurePoolsHandler(IAllocationRegistry registry, ILogger<ReconfigurePoolsHandler> logger)
    : ICommandHandler<ReconfigurePools, ReconfigurePoolsResponse>
{
    public ValueTask<ReconfigurePoolsResponse> Handle(ReconfigurePools command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);

        // Built again here, not only in the validator: the handler is the one that must never apply an invalid set.
        var built = PoolSetFactory.Build(command.Options);
        var result = built.Pools is { } pools ? registry.Reconfigure(pools) : PoolReconfiguration.Refused(built.Errors);
        var now = registry.Pools;
        var text = result.Applied ? PoolText.Describe(now) : string.Join("; ", result.Problems);
        if (result.Applied)
        {
            AllocationLog.PoolsReconfigured(logger, text);
        }
        else
        {
            AllocationLog.PoolsReconfigurationRefused(logger, text);
        }

        return ValueTask.FromResult(new ReconfigurePoolsResponse { Applied = result.Applied, Reasons = result.Problems, Pools = now });
    }
}
