using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Allocation;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;

/// <summary>Gives a Service one IP holding all of its ports, or says why not.</summary>
public sealed record AllocateLoadBalancerIp(ServiceSpec Service) : ICommand<AllocateLoadBalancerIpResponse>;

/// <summary>Exactly one of <see cref="Allocation"/>, <see cref="Refusal"/> or <see cref="ValidationErrors"/> is set.</summary>
public sealed record AllocateLoadBalancerIpResponse : IValidationFailureResponse<AllocateLoadBalancerIpResponse>
{
    public IpAllocation? Allocation { get; init; }

    public AllocationRefusal? Refusal { get; init; }

    /// <summary>What the Service held before this request (null when nothing), so that a caller can put it back.</summary>
    public IpAllocation? Previous { get; init; }

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
        var previous = registry.FindAssignment(request.Service);
        var result = registry.Allocate(request);
        if (result.Allocation is { } allocation)
        {
            metrics.Allocated(allocation.Reason);
            if (allocation.Changed)
            {
                AllocationLog.Allocated(logger, allocation.Service, allocation.Ip, allocation.Reason, allocation.Bindings);
            }
            else
            {
                AllocationLog.Unchanged(logger, allocation.Service, allocation.Ip);
            }

            if (allocation.VacatedIp is { } vacated)
            {
                AllocationLog.Vacated(logger, allocation.Service, vacated);
            }

            return ValueTask.FromResult(new AllocateLoadBalancerIpResponse { Allocation = allocation, Previous = previous });
        }

        metrics.Refused(result.Refusal!.Kind);
        AllocationLog.Refused(logger, result.Refusal.Message);
        return ValueTask.FromResult(new AllocateLoadBalancerIpResponse { Refusal = result.Refusal, Previous = previous });
    }
}
