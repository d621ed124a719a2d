using System.CommandLine;
using System.CommandLine.Parsing;
using LoadBalancer.Host.Configuration;

namespace LoadBalancer.Host.CommandLine;

/// <summary>Which configuration flags a command takes, in groups.</summary>
[Flags]
public enum FlagGroups
{
    None = 0,

    /// <summary>--restricted-cidr, --exclude.</summary>
    Pool = 1,

    /// <summary>--engine, --policy, --drain-timeout.</summary>
    Forwarding = 2,

    /// <summary>--link-device (--linkdevice), --no-announce, --load-balancer-class, --ignore-unclassed, --state-file, --admin-address.</summary>
    Serving = 4,

    /// <summary>--kubeconfig, --kubernetes, --backends, the worker and Lease flags.</summary>
    Cluster = 8,

    /// <summary>Every configuration flag.</summary>
    All = Pool | Forwarding | Serving | Cluster,
}

/// <summary>
/// The flags that set configuration keys (docs/configuration.md). A command gets its own instances of the groups it
/// takes; after parsing, <see cref="Given"/> turns the flags actually given into the top layer of the configuration.
/// Values are checked there, with the other layers' values, so a flag's mistake reads like a file's.
/// </summary>
public sealed class ConfigurationFlags
{
    private readonly List<(Option Option, string Key, Func<ParseResult, string?> Value)> _flags = [];

    public ConfigurationFlags(FlagGroups groups)
    {
        Config = new Option<string>("--config") { Description = "The configuration file (YAML or JSON); by default the first found of $AUTOCFG_FILENAME, /etc/little-load-balancer/config.yaml|json, ~/.config/little-load-balancer/config.yaml|json, ./config.json.", HelpName = "FILE" };
        Text(Settings.Debug, new Option<bool>("--debug") { Description = "Log at Debug level." });
        Text(Settings.LogFormat, new Option<string>("--log-format") { Description = "text (default), json, or systemd (default under systemd).", HelpName = "text|json|systemd" });
        if (groups.HasFlag(FlagGroups.Pool))
        {
            Text(Settings.RestrictedCidr, new Option<string>("--restricted-cidr") { Description = "The unnamed pool \"default\": CIDRs, first-last ranges or addresses, IPv4 or IPv6, comma-separated (default 192.168.0.224/28; standalone 127.0.100.0/24).", HelpName = "LIST" });
            Text(Settings.Exclude, new Option<string>("--exclude") { Description = "Addresses, CIDRs or ranges of the default pool never handed out.", HelpName = "LIST" });
        }

        if (groups.HasFlag(FlagGroups.Forwarding))
        {
            Text(Settings.Engine, new Option<string>("--engine") { Description = "How bytes are forwarded: io_uring (default; falls back to splice, then copy, where the kernel refuses it), splice or copy.", HelpName = "io_uring|splice|copy" });
            Text(Settings.Policy, new Option<string>("--policy") { Description = "Balancing policy where none is asked for: round-robin (default), least-connections, power-of-two, source-hash.", HelpName = "NAME" });
            Text(Settings.DrainTimeout, new Option<string>("--drain-timeout") { Description = "How long open connections may finish when stopping (default 10s).", HelpName = "DURATION" });
        }

        if (groups.HasFlag(FlagGroups.Serving))
        {
            Text(Settings.LinkDevice, new Option<string>("--link-device", "--linkdevice") { Description = "Put the addresses on this device over rtnetlink (\"auto\": the device of the default route; default auto in cluster mode, none in standalone for a pool in 127/8).", HelpName = "NAME|auto" });
            Inverse(Settings.Announce, new Option<bool>("--no-announce") { Description = "No gratuitous ARP / unsolicited NA after adding an address." });
            Text(Settings.StateFile, new Option<string>("--state-file") { Description = "standalone: where the IPs of the Services are kept across restarts (default $STATE_DIRECTORY, /var/lib/little-load-balancer as root, else ~/.local/state/little-load-balancer).", HelpName = "FILE" });
            Text(Settings.LoadBalancerClass, new Option<string>("--load-balancer-class") { Description = "Serve Services with this spec.loadBalancerClass (and those with none).", HelpName = "NAME" });
            Text(Settings.AdminAddress, new Option<string>("--admin-address") { Description = "The read-only admin endpoint: /healthz, /readyz, /api/v1/state (default 127.0.0.1:9090; none: off).", HelpName = "IP:PORT|none" });
            Text(Settings.IgnoreUnclassed, new Option<bool>("--ignore-unclassed") { Description = "Leave Services without a loadBalancerClass alone." });
        }

        if (groups.HasFlag(FlagGroups.Cluster))
        {
            Text(Settings.Kubeconfig, new Option<string>("--kubeconfig") { Description = "The cluster to watch (in a pod the service account, else $KUBECONFIG or ~/.kube/config).", HelpName = "FILE" });
            Text(Settings.Kubernetes, new Option<bool>("--kubernetes") { Description = "Run against a Kubernetes cluster (what no command does)." });
            Text(Settings.Backends, new Option<string>("--backends") { Description = "Forward to worker NodeIP:NodePort (default outside a pod) or to the ready pod endpoints (default inside a pod).", HelpName = "nodeports|endpoints" });
            Text(Settings.WorkerSelector, new Option<string>("--worker-selector") { Description = "Label selector of the nodes that take traffic (default node-role.kubernetes.io/worker).", HelpName = "SEL" });
            Text(Settings.NodeAddressTypes, new Option<string>("--node-address-types") { Description = "Node address types by preference (default InternalIP,ExternalIP).", HelpName = "LIST" });
            Text(Settings.TagWorkerNodes, new Option<bool>("--tag-worker-nodes") { Description = "Label nodes that lack the worker label." });
            Text(Settings.SetExternalIps, new Option<bool>("--set-external-ips") { Description = "Also write the IP into spec.externalIPs." });
            Text(Settings.KubeApiQps, new Option<string>("--kube-api-qps") { Description = "Requests per second to the API server, on average (default 500; Event writes wait behind every other request).", HelpName = "QPS" });
            Text(Settings.KubeApiBurst, new Option<string>("--kube-api-burst") { Description = "Requests to the API server that may go at once after a quiet spell (default 1000).", HelpName = "N" });
            Text(Settings.LeaderElectionNamespace, new Option<string>("--lease-namespace") { Description = "The namespace of the Lease (default $POD_NAMESPACE, else kube-system).", HelpName = "NS" });
            Text(Settings.LeaderElectionName, new Option<string>("--lease-name") { Description = "The name of the Lease (default little-load-balancer).", HelpName = "NAME" });
            Text(Settings.LeaderElectionIdentity, new Option<string>("--lease-identity") { Description = "This replica in the Lease (default $POD_NAME, else the host name).", HelpName = "ID" });
            Inverse(Settings.LeaderElectionEnabled, new Option<bool>("--no-leader-election") { Description = "One replica only: own the addresses from the start." });
        }
    }

    public Option<string> Config { get; }

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> Options => [Config, .. _flags.Select(flag => flag.Option)];

    /// <summary>The flags given on the command line, by configuration key, as the user spelled each.</summary>
    public IReadOnlyDictionary<string, FlagValue> Given(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var given = new Dictionary<string, FlagValue>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key, value) in _flags)
        {
            if (parsed.GetResult(option) is OptionResult { Implicit: false } result)
            {
                given[key] = new FlagValue(value(parsed), result.IdentifierToken?.Value ?? option.Name);
            }
        }

        return given;
    }

    private void Text(string key, Option<string> option) => _flags.Add((option, key, parsed => parsed.GetValue(option)));

    private void Text(string key, Option<bool> option) => _flags.Add((option, key, parsed => parsed.GetValue(option) ? "true" : "false"));

    private void Inverse(string key, Option<bool> option) => _flags.Add((option, key, parsed => parsed.GetValue(option) ? "false" : "true"));
}
