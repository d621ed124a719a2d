using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using Mediator;

namespace LoadBalancer.Application.Allocation.GetAllocations;

/// <summary>The IPs in use, lowest first; optionally only those holding ports of one namespace.</summary>
public sealed record GetAllocations(string? Namespace = null) : IQuery<GetAllocationsResponse>;

public sealed record GetAllocationsResponse : IValidationFailureResponse<GetAllocationsResponse>
{
    public IReadOnlyList<IpLease> Leases { get; init; } = [];

    /// <summary>The pools for a log line: the addresses of the only pool, else each pool's name and addresses.</summary>
    public string Pool { get; init; } = string.Empty;

    /// <summary>Every pool in order with its use.</summary>
    public IReadOnlyList<PoolUsage> Pools { get; init; } = [];

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public static GetAllocationsResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class GetAllocationsHandler(IAllocationRegistry registry) : IQueryHandler<GetAllocations, GetAllocationsResponse>
{
    public ValueTask<GetAllocationsResponse> Handle(GetAllocations query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        IEnumerable<IpLease> leases = registry.Leases();
        if (query.Namespace is { } ns)
        {
            leases = leases
                .Select(lease => lease with { Ports = [.. lease.Ports.Where(port => port.Owner.Namespace == ns)] })
                .Where(lease => lease.Ports.Count > 0);
        }

        var pools = registry.Pools;
        return ValueTask.FromResult(new GetAllocationsResponse { Leases = [.. leases], Pool = PoolText.Describe(pools), Pools = pools });
    }
}
