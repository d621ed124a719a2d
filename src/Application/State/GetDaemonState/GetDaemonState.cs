using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using Mediator;

namespace LoadBalancer.Application.State.GetDaemonState;

/// <summary>What the daemon does now: pools, Services with their ports, backends and traffic, and its role.</summary>
public sealed record GetDaemonState : IQuery<DaemonState>;

/// <summary>
/// Reads each fact where it lives and copies none: pools from the allocator, what runs from the applied-Service registry,
/// what does not and why (and what it asks for) from the reconciler's term, traffic and health from the forwarder's
/// counters, the latest Events from what this replica recorded. Takes no lock that an apply or the data path waits on.
/// </summary>
public sealed class GetDaemonStateHandler(
    IAllocationRegistry allocations,
    IAppliedServiceRegistry applied,
    IReconcilerState reconciler,
    IForwarderStatistics statistics,
    RecentEvents recentEvents,
    TimeProvider time)
    : IQueryHandler<GetDaemonState, DaemonState>
{
    public ValueTask<DaemonState> Handle(GetDaemonState query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var serving = reconciler.IsServing;
        var unserved = reconciler.Unserved().ToDictionary(entry => entry.Service);
        var services = new SortedDictionary<ServiceKey, ServiceState>();
        foreach (var service in applied.All())
        {
            services[service.Key] = Served(service, unserved.GetValueOrDefault(service.Key));
        }

        foreach (var (key, why) in unserved)
        {
            if (!services.ContainsKey(key))
            {
                services[key] = NotServed(why);
            }
        }

        var role = serving ? DaemonRole.Leading : DaemonRole.StandingBy;
        return ValueTask.FromResult(new DaemonState(role, time.GetUtcNow(), Pools(), [.. services.Values]) { Events = recentEvents.Latest() });
    }

    private IReadOnlyList<PoolState> Pools() =>
        [.. allocations.Pools.Select(pool => new PoolState(pool.Name, pool.Addresses.ToString(), pool.Size, pool.Used))];

    private ServiceState Served(AppliedService service, UnservedService? problem)
    {
        var ports = new List<PortState>();
        foreach (var port in service.Spec.Ports)
        {
            var servicePort = port.ToServicePort();
            var listener = service.Listeners.FirstOrDefault(candidate => candidate.Binding.Port == servicePort);
            ports.Add(listener is null ? NotForwarded(port) : Forwarded(listener));
        }

        return Describe(service.Spec, ServingState.Served, service.Ip.ToString(), ports) with
        {
            Ips = [.. service.Ips.Select(ip => ip.ToString())],
            Reason = problem is null ? null : $"{Describe(problem.Kind)}: {problem.Reason}; it runs as before",
        };
    }

    private static ServiceState NotServed(UnservedService why)
    {
        var spec = why.Spec ?? new ServiceSpec(why.Service.Namespace, why.Service.Name, []);
        return Describe(spec, State(why.Kind), ip: null, [.. spec.Ports.Select(NotForwarded)]) with { Reason = why.Reason };
    }

    private PortState Forwarded(ListenerSpec listener)
    {
        var counted = statistics.GetStatistics(listener.Binding);
        var backends = listener.Backends.Select(endpoint => Backend(endpoint, counted)).ToList();
        return new PortState(ProtocolName(listener.Binding.Protocol), listener.Binding.Port.Port, Forwarded: true, counted?.Listener, backends)
        {
            FallingBack = counted?.FallingBack ?? false,
        };
    }

    private static EndpointState Backend(Endpoint endpoint, ListenerStatistics? counted)
    {
        var backend = counted?.Backends.FirstOrDefault(candidate => candidate.Endpoint.Address.Equals(endpoint.Address) && candidate.Endpoint.Port == endpoint.Port);
        var health = backend?.Health ?? (endpoint.Ready ? null : BackendHealthState.NotReady);
        return new EndpointState(endpoint.ToString(), endpoint.NodeName, health, backend?.Traffic);
    }

    private static PortState NotForwarded(ServicePortSpec port) =>
        new(port.Protocol.ToUpperInvariant(), port.Port, Forwarded: false, Traffic: null, []);

    private static ServiceState Describe(ServiceSpec spec, ServingState state, string? ip, IReadOnlyList<PortState> ports)
    {
        var sharing = spec.ExclusiveIp ? IpSharingMode.Exclusive : spec.SharingKey is null ? IpSharingMode.Shared : IpSharingMode.Keyed;
        return new ServiceState(spec.Namespace, spec.Name, state, ip, sharing, ports)
        {
            SharingKey = sharing == IpSharingMode.Keyed ? spec.SharingKey : null,
            RequestedIp = spec.LoadBalancerIp,
            LoadBalancerClass = spec.LoadBalancerClass,
        };
    }

    private static string ProtocolName(TransportProtocol protocol) => TransportProtocolNames.Name(protocol);

    private static ServingState State(UnservedKind kind) => kind switch
    {
        UnservedKind.Refused => ServingState.Refused,
        UnservedKind.Invalid => ServingState.Invalid,
        UnservedKind.Failing => ServingState.Failing,
        _ => ServingState.Pending,
    };

    private static string Describe(UnservedKind kind) => kind switch
    {
        UnservedKind.Refused => "its last change was refused",
        UnservedKind.Invalid => "its last change is invalid",
        UnservedKind.Failing => "its last change fails",
        _ => "its last change is not applied yet",
    };
}
