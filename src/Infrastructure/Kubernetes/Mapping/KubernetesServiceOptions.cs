using LoadBalancer.Application.Forwarding;

namespace LoadBalancer.Infrastructure.Kubernetes.Mapping;

/// <summary>Where a Service's connections go.</summary>
public enum BackendMode
{
    /// <summary>Every ready worker's NodeIP:NodePort: the choice outside the cluster, where pod addresses are not routed (the original's).</summary>
    NodePorts,

    /// <summary>The ready pods' addresses from the EndpointSlices: the choice inside the cluster.</summary>
    Endpoints,
}

/// <summary>Which Services of the cluster are ours and how they become what the load balancer applies.</summary>
public sealed record KubernetesServiceOptions
{
    public const string DefaultWorkerSelector = "node-role.kubernetes.io/worker";

    /// <summary>The <c>spec.loadBalancerClass</c> we answer to; null when none is configured.</summary>
    public string? LoadBalancerClass { get; init; }

    /// <summary>Whether Services without a class are ours; another controller may claim them instead.</summary>
    public bool ServeUnclassed { get; init; } = true;

    public BackendMode Backends { get; init; } = BackendMode.NodePorts;

    /// <summary>A label selector (<c>key</c>, <c>key=value</c>, <c>!key</c>, <c>key!=value</c>, comma-separated, all must
    /// hold) for the nodes whose NodePorts are backends; empty selects every node.</summary>
    public string WorkerSelector { get; init; } = DefaultWorkerSelector;

    /// <summary>The node address types to use, most preferred first.</summary>
    public IReadOnlyList<string> AddressTypes { get; init; } = ["InternalIP", "ExternalIP"];

    /// <summary>The policy of a Service that asks for none.</summary>
    public string DefaultPolicy { get; init; } = LoadBalancingPolicyNames.Default;

    /// <summary>Every problem with these options, each naming the option and the value; empty when they can be used.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (LoadBalancerClass is not null && string.IsNullOrWhiteSpace(LoadBalancerClass))
        {
            problems.Add($"{nameof(LoadBalancerClass)}: '{LoadBalancerClass}' is blank; leave it unset for no class");
        }

        if (!Enum.IsDefined(Backends))
        {
            problems.Add($"{nameof(Backends)}: '{Backends}' must be {string.Join(" or ", Enum.GetNames<BackendMode>())}");
        }

        if (!NodeSelector.TryParse(WorkerSelector, out _, out var selectorError))
        {
            problems.Add($"{nameof(WorkerSelector)}: {selectorError}");
        }

        if (AddressTypes is null || AddressTypes.Count == 0 || AddressTypes.Any(string.IsNullOrWhiteSpace))
        {
            problems.Add($"{nameof(AddressTypes)}: '{string.Join(",", AddressTypes ?? [])}' must list one or more node address types, e.g. InternalIP,ExternalIP");
        }

        if (!LoadBalancingPolicyNames.IsKnown(DefaultPolicy))
        {
            problems.Add($"{nameof(DefaultPolicy)}: {LoadBalancingPolicyNames.UnknownMessage(DefaultPolicy)}");
        }

        return problems;
    }
}
