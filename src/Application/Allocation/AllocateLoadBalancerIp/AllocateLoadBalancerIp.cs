using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Allocation;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;

/// <summary>Gives a Service one IP per family it gets (<c>spec.ipFamilyPolicy</c>), each holding all of its ports, or says why not.</summary>
public sealed record AllocateLoadBalancerIp(ServiceSpec Service) : ICommand<AllocateLoadBalancerIpResponse>;

/// <summary>Exactly one of <see cref="Allocation"/>, <see cref="Refusal"/> or <see cref="ValidationErrors"/> is set.</summary>
public sealed record AllocateLoadBalancerIpResponse : IValidationFailureResponse<AllocateLoadBalancerIpResponse>
{
    public StackAllocation? Allocation { get; init; }

    public AllocationRefusal? Refusal { get; init; }

    /// <summary>What the Service held before this request (empty when nothing), primary first, so that a caller can put it back.</summary>
    public IReadOnlyList<IpAllocation> Previous { get; init; } = [];

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    [MemberNotNullWhen(true, nameof(Allocation))]
    public bool Succeeded => Allocation is not null;

    public static AllocateLoadBalancerIpResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class AllocateLoadBalancerIpHandler(IAllocationRegistry registry, AllocationMetrics metrics, ILogger<AllocateLoadBalancerIpHandler> logger)
    : ICommandHandler<AllocateLoadBalancerIp, AllocateLoadBalancerIpResponse>
{
    public ValueTask<AllocateLoadBalancerIpResponse> Handle(AllocateLoadBalancerIp command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        // Read apart from the allocation: the callers change one Service at a time (ApplyService under its lock).
        var request = command.Service.ToRequest();
        var previous = registry.FindAssignments(request.Service);
        var result = registry.Allocate(request);
        if (result.Allocation is { } allocation)
        {
            foreach (var one in allocation.Allocations)
            {
                metrics.Allocated(one.Reason);
                if (one.Changed)
                {
                    AllocationLog.Allocated(logger, one.Service, one.Ip, one.Reason, one.Bindings);
                }
                else
                {
                    AllocationLog.Unchanged(logger, one.Service, one.Ip);
                }
            }

            foreach (var vacated in allocation.VacatedIps)
            {
                AllocationLog.Vacated(logger, allocation.Service, vacated);
            }

            foreach (var shortfall in allocation.Shortfalls)
            {
                AllocationLog.FamilyUnavailable(logger, allocation.Service, shortfall.Family, shortfall.Reason);
            }

            return ValueTask.FromResult(new AllocateLoadBalancerIpResponse { Allocation = allocation, Previous = previous });
        }

        metrics.Refused(result.Refusal!.Kind);
        AllocationLog.Refused(logger, result.Refusal.Message);
        return ValueTask.FromResult(new AllocateLoadBalancerIpResponse { Refusal = result.Refusal, Previous = previous });
    }
}
