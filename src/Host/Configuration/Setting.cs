namespace LoadBalancer.Host.Configuration;

/// <summary>
/// One key of the configuration: how the file writes it, the flag that sets it, and the original project's environment
/// names for it. Ours is always <c>LITTLELB_</c> and the key in capitals, <c>__</c> for <c>:</c>.
/// </summary>
public sealed record Setting(string Key, string? Flag, IReadOnlyList<string> OriginalEnvironment, string Description)
{
    public const string EnvironmentPrefix = "LITTLELB_";

    /// <summary>Our environment variable for this key: <c>leaderElection:enabled</c> is <c>LITTLELB_LEADERELECTION__ENABLED</c>.</summary>
    public string EnvironmentName => EnvironmentPrefix + Key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant();
}

/// <summary>Every key of the configuration, in the order <c>loadbalancer config</c> prints them (docs/configuration.md).</summary>
public static class Settings
{
    public const string Kubeconfig = "kubeconfig";
    public const string Kubernetes = "kubernetes";
    public const string LinkDevice = "linkDevice";
    public const string RestrictedCidr = "restrictedCidr";
    public const string Exclude = "exclude";
    public const string Pools = "pools";
    public const string TagWorkerNodes = "tagWorkerNodes";
    public const string Debug = "debug";
    public const string LogFormat = "logFormat";
    public const string DrainTimeout = "drainTimeout";
    public const string Engine = "engine";
    public const string Policy = "policy";
    public const string Announce = "announce";
    public const string StateFile = "stateFile";
    public const string LoadBalancerClass = "loadBalancerClass";
    public const string IgnoreUnclassed = "ignoreUnclassed";
    public const string Backends = "backends";
    public const string WorkerSelector = "workerSelector";
    public const string NodeAddressTypes = "nodeAddressTypes";
    public const string SetExternalIps = "setExternalIps";
    public const string KubeApiQps = "kubeApiQps";
    public const string KubeApiBurst = "kubeApiBurst";
    public const string AdminAddress = "adminAddress";
    public const string LeaderElectionEnabled = "leaderElection:enabled";
    public const string LeaderElectionNamespace = "leaderElection:namespace";
    public const string LeaderElectionName = "leaderElection:name";
    public const string LeaderElectionIdentity = "leaderElection:identity";

    /// <summary>The configuration file's own key: read from the flag and the environment only.</summary>
    public const string ConfigFileEnvironment = "LITTLELB_CONFIG";

    public static readonly IReadOnlyList<Setting> All =
    [
        new(Kubeconfig, "--kubeconfig", ["KUBECONFIG"], "the cluster to watch; in a pod the service account, else ~/.kube/config"),
        new(Kubernetes, "--kubernetes", ["KUBERNETES"], "run against a Kubernetes cluster (the mode without a command)"),
        new(LinkDevice, "--link-device", ["LINKDEVICE", "LINK_DEVICE"], "the device for the addresses; auto: the default route's"),
        new(RestrictedCidr, "--restricted-cidr", ["RESTRICTED_CIDR"], "the unnamed pool \"default\": CIDRs, ranges, addresses"),
        new(Exclude, "--exclude", [], "addresses of the default pool never handed out"),
        new(TagWorkerNodes, "--tag-worker-nodes", ["TAG_WORKER_NODES"], "label nodes that lack the worker label"),
        new(Debug, "--debug", ["DEBUG"], "log at Debug level"),
        new(LogFormat, "--log-format", [], "text, json or systemd"),
        new(DrainTimeout, "--drain-timeout", [], "how long open connections may finish at shutdown (10s, 500ms, 2m or seconds)"),
        new(Engine, "--engine", [], "io_uring, splice or copy"),
        new(Policy, "--policy", [], "the balancing policy where a Service asks for none"),
        new(Announce, "--no-announce", [], "gratuitous ARP / unsolicited NA after adding an address"),
        new(StateFile, "--state-file", [], "standalone: where the IPs of the Services are kept across restarts"),
        new(LoadBalancerClass, "--load-balancer-class", [], "the spec.loadBalancerClass that is ours"),
        new(IgnoreUnclassed, "--ignore-unclassed", [], "leave Services without a loadBalancerClass alone"),
        new(Backends, "--backends", [], "nodeports or endpoints; by default endpoints in a pod, nodeports outside"),
        new(WorkerSelector, "--worker-selector", [], "label selector of the nodes that take NodePort traffic"),
        new(NodeAddressTypes, "--node-address-types", [], "node address types by preference"),
        new(SetExternalIps, "--set-external-ips", [], "also write the IP into spec.externalIPs"),
        new(KubeApiQps, "--kube-api-qps", [], "requests per second to the API server, on average"),
        new(KubeApiBurst, "--kube-api-burst", [], "requests to the API server that may go at once after a quiet spell"),
        new(AdminAddress, "--admin-address", [], "the read-only admin endpoint (probes, state API): IP:PORT or none"),
        new(LeaderElectionEnabled, "--no-leader-election", [], "replicas elect a leader through a Lease"),
        new(LeaderElectionNamespace, "--lease-namespace", ["POD_NAMESPACE"], "the namespace of the Lease"),
        new(LeaderElectionName, "--lease-name", [], "the name of the Lease"),
        new(LeaderElectionIdentity, "--lease-identity", ["POD_NAME"], "this replica's name in the Lease; by default the host name"),
    ];

    public static Setting? Find(string key) =>
        All.FirstOrDefault(setting => string.Equals(setting.Key, key, StringComparison.OrdinalIgnoreCase));
}
