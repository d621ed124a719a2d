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
    /// <summary>One entry per IP the Service held (two for a dual-stack Service); empty when it held none.</summary>
    public IReadOnlyList<IpRelease> Releases { get; init; } = [];

    public IReadOnlyList<ValidationError> ValidationErrors { get; init; } = [];

    public bool Succeeded => ValidationErrors.Count == 0;

    /// <summary>The primary IP's release, if it held one.</summary>
    public IpRelease? Release => Releases.Count > 0 ? Releases[0] : null;

    public static ReleaseLoadBalancerIpResponse FromValidationErrors(IReadOnlyList<ValidationError> errors) =>
        new() { ValidationErrors = errors };
}

public sealed class ReleaseLoadBalancerIpHandler(IAllocationRegistry registry, ILogger<ReleaseLoadBalancerIpHandler> logger)
    : ICommandHandler<ReleaseLoadBalancerIp, ReleaseLoadBalancerIpResponse>
{
    public ValueTask<ReleaseLoadBalancerIpResponse> Handle(ReleaseLoadBalancerIp command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var releases = registry.Release(new ServiceKey(command.Namespace, command.Name));
        foreach (var release in releases)
        {
            AllocationLog.Released(logger, release.Service, release.Ip!, release.Freed, release.IpUnused);
        }

        return ValueTask.FromResult(new ReleaseLoadBalancerIpResponse { Releases = releases });
    }
}
