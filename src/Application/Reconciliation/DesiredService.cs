using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Services;
using ApplyServiceCommand = LoadBalancer.Application.Services.ApplyService.ApplyService;

namespace LoadBalancer.Application.Reconciliation;

/// <summary>
/// What a source wants for one Service: its spec (not yet validated: the allocation request validates it), its backends
/// per port, how to balance and check them, and what the source had to make of values it could not use.
/// </summary>
public sealed record DesiredService(ServiceSpec Spec, IReadOnlyList<PortBackends> Backends)
{
    public string Policy { get; init; } = LoadBalancingPolicyNames.Default;

    public HealthCheckSettings HealthCheck { get; init; } = HealthCheckSettings.Default;

    /// <summary>Client-IP affinity's timeout (<c>sessionAffinity: ClientIP</c>); null: no affinity.</summary>
    public TimeSpan? AffinityTimeout { get; init; }

    /// <summary>How long a UDP flow lives without a datagram; null for the forwarder's default.</summary>
    public TimeSpan? UdpFlowIdleTimeout { get; init; }

    /// <summary>The PROXY protocol header its TCP listeners write to backends (annotation littlelb.io/proxy-protocol).</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }

    /// <summary>
    /// Values the source could not use, each naming the field (an annotation) and the value; the default took the place
    /// of each, and the Service is served all the same.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Where this Service's backends would come from, for an operator told that a port has none ("no ready endpoint").</summary>
    public string NoBackendsReason { get; init; } = "no backends listed";

    /// <summary>What was skipped while finding backends (a node without a usable address, a slice of FQDNs, ...).</summary>
    public IReadOnlyList<string> BackendNotes { get; init; } = [];

    public ServiceKey Key => Spec.Key;

    public ApplyServiceCommand ToCommand() => new(Spec, Backends)
    {
        Policy = Policy,
        HealthCheck = HealthCheck,
        AffinityTimeout = AffinityTimeout,
        UdpFlowIdleTimeout = UdpFlowIdleTimeout,
        ProxyProtocol = ProxyProtocol,
    };

    /// <summary>Whether <paramref name="running"/> already serves this exactly, so that applying it would change nothing.</summary>
    public bool IsServedBy(AppliedService running)
    {
        ArgumentNullException.ThrowIfNull(running);

        // What each listener gets per protocol is ApplyService's rule; asking the command keeps it in one place.
        var command = ToCommand();
        return Spec.AsksSameAs(running.Spec)
            && Policy == running.Policy
            && HealthCheck == running.HealthCheck
            && running.Listeners.All(listener => listener.AffinityTimeout == AffinityTimeout)
            && running.Listeners.All(listener => listener.UdpFlowIdleTimeout == command.UdpFlowIdleTimeoutFor(listener.Binding.Protocol)
                && listener.ProxyProtocol == command.ProxyProtocolFor(listener.Binding.Protocol))
            && running.Listeners.All(listener => BackendsOf(listener.Binding.Port).SequenceEqual(listener.Backends));
    }

    /// <summary>Whether <paramref name="other"/> asks for the same in every respect (the record compares its lists by reference).</summary>
    public bool SameAs(DesiredService other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Spec.AsksSameAs(other.Spec)
            && Policy == other.Policy
            && HealthCheck == other.HealthCheck
            && AffinityTimeout == other.AffinityTimeout
            && UdpFlowIdleTimeout == other.UdpFlowIdleTimeout
            && ProxyProtocol == other.ProxyProtocol
            && NoBackendsReason == other.NoBackendsReason
            && Warnings.SequenceEqual(other.Warnings)
            && BackendNotes.SequenceEqual(other.BackendNotes)
            && Backends.Count == other.Backends.Count
            && Backends.Zip(other.Backends).All(pair => pair.First.Port == pair.Second.Port && pair.First.Endpoints.SequenceEqual(pair.Second.Endpoints));
    }

    private IReadOnlyList<Domain.Endpoints.Endpoint> BackendsOf(ServicePort port) =>
        Backends.FirstOrDefault(entry => entry.Port == port)?.Endpoints ?? [];
}
