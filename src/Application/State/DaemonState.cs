using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.State;

/// <summary>
/// What the daemon does at one moment, as operators read it: the SIGUSR1 dump, the status page, the state API. Built on
/// request from where each fact lives (the allocator, the applied Services, the reconciler's term, the forwarder's
/// counters); nothing keeps a copy. Plain values only (addresses as text), so that it serialises as it reads.
/// </summary>
/// <param name="Role">Whether this replica serves, or stands by for the one that leads.</param>
/// <param name="Services">Ordered by namespace and name.</param>
public sealed record DaemonState(DaemonRole Role, DateTimeOffset At, IReadOnlyList<PoolState> Pools, IReadOnlyList<ServiceState> Services)
{
    /// <summary>The Events this replica recorded lately (at most <see cref="RecentEvents.Capacity"/>), newest first.</summary>
    public IReadOnlyList<RecentEvent> Events { get; init; } = [];
}

public enum DaemonRole
{
    /// <summary>This replica serves (the leader, or a daemon without peers).</summary>
    Leading,

    /// <summary>Another replica serves; this one waits to take over and serves nothing.</summary>
    StandingBy,
}

/// <param name="Addresses">The pool's entries as configured (normalised).</param>
/// <param name="Size">Addresses that can be handed out (saturates for huge IPv6 pools).</param>
/// <param name="Used">Addresses held by at least one Service.</param>
public sealed record PoolState(string Name, string Addresses, UInt128 Size, int Used)
{
    public UInt128 Free => Size > (UInt128)Used ? Size - (UInt128)Used : UInt128.Zero;
}

/// <param name="Ip">The IP it is served on (its primary one); null when it is not served.</param>
/// <param name="Ports">Every port of its spec, in the spec's order.</param>
public sealed record ServiceState(
    string Namespace,
    string Name,
    ServingState State,
    string? Ip,
    IpSharingMode Sharing,
    IReadOnlyList<PortState> Ports)
{
    /// <summary>Every IP it is served on, primary first (two for a dual-stack Service); empty when it is not served.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>The sharing key when <see cref="Sharing"/> is keyed.</summary>
    public string? SharingKey { get; init; }

    /// <summary>The IP its spec asks for (spec.loadBalancerIP), if any.</summary>
    public string? RequestedIp { get; init; }

    /// <summary>Its spec.loadBalancerClass; null for a Service without one, served when unclassed Services are.</summary>
    public string? LoadBalancerClass { get; init; }

    /// <summary>
    /// Why it is not served as asked, as operators were told; also set on a served Service whose last change was
    /// refused or fails, which runs as it did before.
    /// </summary>
    public string? Reason { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public ServiceKey Key => new(Namespace, Name);
}

public enum ServingState
{
    /// <summary>Its IP is on the link and its TCP ports are forwarded.</summary>
    Served,

    /// <summary>The allocator refused it; it waits for a release or an edit.</summary>
    Refused,

    /// <summary>It cannot be served as written; it waits for an edit.</summary>
    Invalid,

    /// <summary>Applying it failed in a way that may heal; it is retried.</summary>
    Failing,

    /// <summary>Wanted and not reconciled yet (or waiting for its turn in the queue).</summary>
    Pending,
}

/// <param name="Protocol">"TCP" or "UDP".</param>
/// <param name="Forwarded">Whether a listener forwards it now.</param>
/// <param name="Traffic">The listener's counters; null when not forwarded or the forwarder has none.</param>
/// <param name="Backends">Where it forwards, in the order the source gave them.</param>
public sealed record PortState(string Protocol, int Port, bool Forwarded, TrafficSnapshot? Traffic, IReadOnlyList<EndpointState> Backends)
{
    /// <summary>No backend is healthy, so connections go to ones that are not (rather than being refused).</summary>
    public bool FallingBack { get; init; }
}

/// <param name="Address">IP:port ([IPv6]:port).</param>
/// <param name="Node">The node it runs on, when the source knows it.</param>
/// <param name="Health">Null when the forwarder has not reported on it (no listener statistics).</param>
/// <param name="Traffic">Null when the forwarder has not reported on it.</param>
public sealed record EndpointState(string Address, string? Node, BackendHealthState? Health, TrafficSnapshot? Traffic);
