using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>What a Service of the cluster asks the load balancer to apply, or why it cannot be applied.</summary>
/// <param name="Command">The command; null when there are errors.</param>
/// <param name="Errors">Problems with the Service itself, each naming the field and the value (spec.loadBalancerIP,
/// an annotation, ...); the Service is not applied.</param>
/// <param name="Diagnostics">Things that were skipped while finding backends (a node without a usable address, an
/// EndpointSlice of FQDN addresses, ...); the command is still good.</param>
/// <param name="PortsWithoutBackends">The Service's ports, TCP and UDP, that ended up with no backend.</param>
internal sealed record DesiredServiceResult(
    ApplyService? Command,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Diagnostics,
    IReadOnlyList<ServicePort> PortsWithoutBackends)
{
    [MemberNotNullWhen(true, nameof(Command))]
    public bool Succeeded => Command is not null;

    /// <summary>Where the backends came from: the Service's own <c>allocateLoadBalancerNodePorts: false</c> can send a
    /// Service to its endpoints whatever the configured mode.</summary>
    public BackendMode Source { get; init; }

    /// <summary>Whether not one port has a backend: the Service is up but every connection will be refused.</summary>
    public bool NoBackends => Command is not null && Command.Backends.All(port => port.Endpoints.Count == 0);

    internal static DesiredServiceResult Failed(IReadOnlyList<string> errors) => new(null, errors, [], []);
}
