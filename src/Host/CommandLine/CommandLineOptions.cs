using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding;

namespace LoadBalancer.Host.CommandLine;

public enum RunMode
{
    Help,
    Version,
    CheckPool,
    Standalone,
    Forward,
    DemoBackend,

    /// <summary>No command, options only: the daemon against a Kubernetes cluster.</summary>
    Cluster,
}

/// <summary>What the command line asked for, after parsing.</summary>
public sealed record CommandLineOptions
{
    /// <summary>The pool of the standalone mode: a /24 inside 127/8, which Linux answers on without adding an address.</summary>
    public const string StandalonePool = "127.0.100.0/24";

    public RunMode Mode { get; init; } = RunMode.Help;

    /// <summary>The pool (<c>--restricted-cidr</c>): CIDRs, ranges or addresses, comma-separated.</summary>
    public string RestrictedCidr { get; init; } = Application.Allocation.AllocationOptions.DefaultPool;

    /// <summary>Addresses never handed out (<c>--exclude</c>).</summary>
    public string? Exclude { get; init; }

    /// <summary>The Services file of the standalone mode.</summary>
    public string? StandaloneFile { get; init; }

    /// <summary><c>--engine</c>: how the forwarder moves bytes.</summary>
    public ForwardingEngine Engine { get; init; } = ForwardingEngine.Splice;

    /// <summary><c>--policy</c>: the balancing policy where a Service (or <c>forward</c>) asks for none.</summary>
    public string Policy { get; init; } = LoadBalancingPolicyNames.Default;

    /// <summary><c>--listen</c>: the address of <c>forward</c> (exactly one) or of the demo backend (one or more).</summary>
    public IReadOnlyList<Endpoint> Listen { get; init; } = Array.Empty<Endpoint>();

    /// <summary><c>--backend</c>: where <c>forward</c> sends connections.</summary>
    public IReadOnlyList<Endpoint> Backends { get; init; } = Array.Empty<Endpoint>();

    /// <summary><c>--no-health-check</c>: <c>forward</c> sends to every backend without probing it.</summary>
    public bool NoHealthCheck { get; init; }

    /// <summary>standalone: put addresses on this device over rtnetlink ("auto" picks one); null keeps the loopback device.</summary>
    public string? LinkDevice { get; init; }

    /// <summary>standalone with a link device: no gratuitous ARP / unsolicited NA after adding an address.</summary>
    public bool NoAnnounce { get; init; }

    /// <summary>standalone: <c>--state-file</c>; null takes the default place (docs/standalone.md).</summary>
    public string? StateFile { get; init; }

    /// <summary>The cluster mode's own settings (the class flags serve standalone too); unused by the other modes.</summary>
    public ClusterOptions Cluster { get; init; } = new();
}

/// <summary>The flags that only the cluster mode reads.</summary>
public sealed record ClusterOptions
{
    /// <summary><c>--kubeconfig</c>; null: in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary><c>--load-balancer-class</c>: the spec.loadBalancerClass that is ours.</summary>
    public string? LoadBalancerClass { get; init; }

    /// <summary><c>--ignore-unclassed</c>: leave Services without a loadBalancerClass to another implementation.</summary>
    public bool IgnoreUnclassed { get; init; }

    /// <summary><c>--backends nodeports|endpoints</c>; null picks endpoints inside a pod and NodePorts outside.</summary>
    public string? Backends { get; init; }

    /// <summary><c>--worker-selector</c>: which nodes take NodePort traffic.</summary>
    public string? WorkerSelector { get; init; }

    /// <summary><c>--node-address-types</c>: which node address to use, in order of preference.</summary>
    public IReadOnlyList<string>? NodeAddressTypes { get; init; }

    public bool TagWorkerNodes { get; init; }

    /// <summary><c>--set-external-ips</c>: also write the IP into spec.externalIPs, as the original did.</summary>
    public bool SetExternalIps { get; init; }

    public string? LeaseNamespace { get; init; }

    public string? LeaseName { get; init; }

    public string? LeaseIdentity { get; init; }

    /// <summary><c>--no-leader-election</c>: a single replica that owns the addresses from the start.</summary>
    public bool NoLeaderElection { get; init; }
}

public sealed record CommandLineParseResult(CommandLineOptions? Options, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Errors.Count == 0 && Options is not null;
}
