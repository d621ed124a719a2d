using LoadBalancer.Application.Common.Validation;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Allocation.ReleaseLoadBalancerIp;

/// <summary>Frees every port a Service holds. Releasing a Service that holds nothing succeeds and frees nothing.</summary>
public sealed record ReleaseLoadBalancerIp(string Namespace, string Name) : ICommand<ReleaseLoadBalancerIpResponse>;

public sealed record ReleaseLoadBalancerIpResponse : IValidationFailureResponse<ReleaseLoadBalancerIpResponse>
{
    public IpRelease? Release { get; init; }

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public bool Succeeded => Release is not null;

    public static ReleaseLoadBalancerIpResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class ReleaseLoadBalancerIpHandler(IAllocationRegistry registry, ILogger<ReleaseLoadBalancerIpHandler> logger)
    : ICommandHandler<ReleaseLoadBalancerIp, ReleaseLoadBalancerIpResponse>
{
    public ValueTask<ReleaseLoadBalancerIpResponse> Handle(ReleaseLoadBalancerIp command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var release = registry.Release(new ServiceKey(command.Namespace, command.Name));
        if (release.Ip is { } ip)
        {
            AllocationLog.Released(logger, release.Service, ip, release.Freed, release.IpUnused);
        }

        return ValueTask.FromResult(new ReleaseLoadBalancerIpResponse { Release = release });
    }
}
