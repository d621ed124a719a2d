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

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public bool Succeeded => Allocation is not null;

    public static AllocateLoadBalancerIpResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class AllocateLoadBalancerIpHandler(IAllocationRegistry registry, ILogger<AllocateLoadBalancerIpHandler> logger)
    : ICommandHandler<AllocateLoadBalancerIp, AllocateLoadBalancerIpResponse>
{
    public ValueTask<AllocateLoadBalancerIpResponse> Handle(AllocateLoadBalancerIp command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var result = registry.Allocate(command.Service.ToRequest());
        if (result.Allocation is { } allocation)
        {
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

            return ValueTask.FromResult(new AllocateLoadBalancerIpResponse { Allocation = allocation });
        }

        AllocationLog.Refused(logger, result.Refusal!.Message);
        return ValueTask.FromResult(new AllocateLoadBalancerIpResponse { Refusal = result.Refusal });
    }
}
