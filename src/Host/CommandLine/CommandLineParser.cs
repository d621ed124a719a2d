using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Host.CommandLine;

/// <summary>
/// A small parser on purpose: a handful of flags, each error naming the flag and the value. Every problem is reported at
/// once.
/// </summary>
public static class CommandLineParser
{
    public const string Usage = """
        Usage: loadbalancer [command] [options]

        Little Load Balancer: Services of type LoadBalancer on bare metal, k3d and VMs.

        Commands:
          standalone FILE         Serve the Services of type LoadBalancer in a Kubernetes YAML file, without a
                                  cluster: allocate their IPs (default pool 127.0.100.0/24), forward to the backends
                                  in their littlelb.io/backends annotations, and apply every change to the file.
                                  Also written --standalone FILE. See docs/standalone.md.
          forward                 One listener, no allocation: --listen IP:PORT to one or more --backend IP:PORT.
          demo-backend            A tiny HTTP server answering "hello from IP:PORT" on each --listen IP:PORT.
          check-pool              Parse the pool, print its size and first addresses, and exit
                                  (0 when it is valid, 2 when it is not).
          (no command)            Run against a Kubernetes cluster: watch Services of type LoadBalancer, Nodes
                                  and EndpointSlices, allocate, forward and write status. In a pod the
                                  in-cluster config is used; elsewhere --kubeconfig, $KUBECONFIG or ~/.kube/config.
          Modes that serve run until Ctrl-C or SIGTERM, then drain open connections and exit 0.

        Options:
          --restricted-cidr LIST  The pool IPs are allocated from: CIDRs, first-last ranges or single
                                  addresses, IPv4 or IPv6, comma-separated (default 192.168.0.224/28;
                                  127.0.100.0/24 for standalone).
          --exclude LIST          Addresses, CIDRs or ranges never handed out.
          --engine splice|copy    How bytes are forwarded (default splice; copy where splice is unavailable).
          --policy NAME           Balancing policy where none is asked for: round-robin (default),
                                  least-connections, power-of-two, source-hash.
          --listen IP:PORT        forward: the address to listen on; demo-backend: repeat for more.
          --backend IP:PORT       forward: a backend; repeat for more.
          --no-health-check       forward: do not probe the backends.
          --link-device NAME      standalone: put the addresses on this device over rtnetlink ("auto": the
                                  device of the default route); needed for a pool outside 127/8.
          --no-announce           standalone: no gratuitous ARP / unsolicited NA after adding an address.
          --state-file FILE       standalone: where the IPs of the Services are kept across restarts (default
                                  $STATE_DIRECTORY, /var/lib/little-load-balancer as root, else
                                  ~/.local/state/little-load-balancer; one file per Services file).
          --load-balancer-class NAME, --ignore-unclassed
                                  standalone: which Services of the file are ours, as in cluster mode.

        Cluster options:
          --kubeconfig FILE       The cluster to watch.
          --load-balancer-class NAME  Serve Services with this spec.loadBalancerClass (and those with none).
          --ignore-unclassed      Leave Services without a loadBalancerClass alone.
          --backends nodeports|endpoints  Forward to worker NodeIP:NodePort (default outside a pod) or to
                                  the ready pod endpoints (default inside a pod).
          --worker-selector SEL   Label selector of the nodes that take traffic
                                  (default node-role.kubernetes.io/worker).
          --node-address-types LIST  Node address types by preference (default InternalIP,ExternalIP).
          --tag-worker-nodes      Label nodes that lack the worker label.
          --set-external-ips      Also write the IP into spec.externalIPs.
          --lease-namespace NS, --lease-name NAME, --lease-identity ID
                                  The Lease of the leader election (default kube-system/little-load-balancer,
                                  identity $POD_NAME or the host name).
          --no-leader-election    One replica only: own the addresses from the start.
          The pool, --exclude, --engine, --policy, --link-device (default auto) and --no-announce apply too.

          -h, --help              Show this help.
          --version               Show the version.
        """;

    private static readonly string[] Commands = ["check-pool", "standalone", "forward", "demo-backend", "cluster mode (no command)"];

    public static CommandLineParseResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new CommandLineOptions();
        var errors = new List<string>();
        var given = new List<string>();
        var listen = new List<Endpoint>();
        var backends = new List<Endpoint>();
        RunMode? mode = null;
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var (flag, inlineValue) = SplitInlineValue(arg);
            switch (flag)
            {
                case "-h" or "--help":
                    help = true;
                    break;
                case "--version":
                    mode ??= RunMode.Version;
                    break;
                case "check-pool":
                    mode ??= RunMode.CheckPool;
                    break;
                case "forward":
                    mode ??= RunMode.Forward;
                    break;
                case "demo-backend":
                    mode ??= RunMode.DemoBackend;
                    break;
                case "standalone":
                    mode ??= RunMode.Standalone;
                    if (i + 1 < args.Count && !args[i + 1].StartsWith('-'))
                    {
                        i++;
                        options = options with { StandaloneFile = args[i] };
                    }

                    break;
                case "--standalone":
                    mode ??= RunMode.Standalone;
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } file)
                    {
                        options = options with { StandaloneFile = file };
                    }

                    break;
                case "--restricted-cidr":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } pool)
                    {
                        options = options with { RestrictedCidr = pool };
                    }

                    break;
                case "--exclude":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } exclude)
                    {
                        options = options with { Exclude = exclude };
                    }

                    break;
                case "--engine":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } engine)
                    {
                        switch (engine)
                        {
                            case "splice":
                                options = options with { Engine = ForwardingEngine.Splice };
                                break;
                            case "copy":
                                options = options with { Engine = ForwardingEngine.Copy };
                                break;
                            default:
                                errors.Add($"--engine: '{engine}' must be splice or copy");
                                break;
                        }
                    }

                    break;
                case "--link-device":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } device)
                    {
                        if (device.Length is 0 or > 15 || device.Any(character => char.IsWhiteSpace(character) || character == '/'))
                        {
                            errors.Add($"--link-device: '{device}' is not a Linux device name (1-15 characters, no spaces or '/') or \"auto\"");
                        }
                        else
                        {
                            options = options with { LinkDevice = device };
                        }
                    }

                    break;
                case "--no-announce":
                    given.Add(flag);
                    options = options with { NoAnnounce = true };
                    break;
                case "--state-file":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } stateFile)
                    {
                        options = options with { StateFile = stateFile };
                    }

                    break;
                case "--policy":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } policy)
                    {
                        if (LoadBalancingPolicyNames.IsKnown(policy))
                        {
                            options = options with { Policy = policy };
                        }
                        else
                        {
                            errors.Add($"--policy: {LoadBalancingPolicyNames.UnknownMessage(policy)}");
                        }
                    }

                    break;
                case "--listen":
                    given.Add(flag);
                    TakeEndpoint(args, ref i, flag, inlineValue, errors, listen);
                    break;
                case "--backend":
                    given.Add(flag);
                    TakeEndpoint(args, ref i, flag, inlineValue, errors, backends);
                    break;
                case "--no-health-check":
                    given.Add(flag);
                    options = options with { NoHealthCheck = true };
                    break;
                case "--kubeconfig" or "--load-balancer-class" or "--backends" or "--worker-selector" or "--node-address-types"
                    or "--lease-namespace" or "--lease-name" or "--lease-identity":
                    given.Add(flag);
                    if (TakeValue(args, ref i, flag, inlineValue, errors) is { } value)
                    {
                        options = options with { Cluster = ClusterValue(options.Cluster, flag, value, errors) };
                    }

                    break;
                case "--ignore-unclassed":
                    given.Add(flag);
                    options = options with { Cluster = options.Cluster with { IgnoreUnclassed = true } };
                    break;
                case "--tag-worker-nodes":
                    given.Add(flag);
                    options = options with { Cluster = options.Cluster with { TagWorkerNodes = true } };
                    break;
                case "--set-external-ips":
                    given.Add(flag);
                    options = options with { Cluster = options.Cluster with { SetExternalIps = true } };
                    break;
                case "--no-leader-election":
                    given.Add(flag);
                    options = options with { Cluster = options.Cluster with { NoLeaderElection = true } };
                    break;
                default:
                    errors.Add(arg.StartsWith('-')
                        ? $"unknown option '{arg}' (see --help)"
                        : $"unknown command '{arg}' (see --help)");
                    break;
            }
        }

        // The original's command line: options only, e.g. --kubeconfig FILE --restricted-cidr CIDR --link-device DEV.
        var chosen = help ? RunMode.Help : mode ?? (given.Count > 0 ? RunMode.Cluster : RunMode.Help);
        options = options with { Mode = chosen, Listen = Endpoints(listen), Backends = Endpoints(backends) };
        if (chosen == RunMode.Standalone && !given.Contains("--restricted-cidr"))
        {
            options = options with { RestrictedCidr = CommandLineOptions.StandalonePool };
        }

        if (chosen is RunMode.CheckPool or RunMode.Standalone or RunMode.Forward or RunMode.DemoBackend or RunMode.Cluster)
        {
            CheckMode(options, given, errors);
        }

        return new CommandLineParseResult(options, errors);
    }

    /// <summary>Flags that mean nothing in the chosen mode, and what the mode cannot run without.</summary>
    private static void CheckMode(CommandLineOptions options, List<string> given, List<string> errors)
    {
        var allowed = CommandFlags(Describe(options.Mode));
        foreach (var flag in given.Distinct().Where(flag => !allowed.Contains(flag)))
        {
            var users = Commands.Where(command => CommandFlags(command).Contains(flag));
            errors.Add($"option '{flag}' does not apply to {Describe(options.Mode)}; it is for {string.Join(", ", users)}");
        }

        switch (options.Mode)
        {
            case RunMode.Standalone when string.IsNullOrWhiteSpace(options.StandaloneFile):
                errors.Add("standalone: a FILE is required: loadbalancer standalone FILE (e.g. examples/standalone.yaml)");
                break;
            case RunMode.Forward:
                if (options.Listen.Count != 1)
                {
                    errors.Add($"forward: exactly one --listen IP:PORT is required ({options.Listen.Count} given)");
                }

                if (options.Backends.Count == 0)
                {
                    errors.Add("forward: at least one --backend IP:PORT is required");
                }

                break;
            case RunMode.DemoBackend when options.Listen.Count == 0:
                errors.Add("demo-backend: at least one --listen IP:PORT is required");
                break;
        }
    }

    private static string[] CommandFlags(string command) => command switch
    {
        "check-pool" => ["--restricted-cidr", "--exclude"],
        "standalone" => ["--restricted-cidr", "--exclude", "--engine", "--policy", "--link-device", "--no-announce", "--state-file",
            "--load-balancer-class", "--ignore-unclassed"],
        "forward" => ["--engine", "--policy", "--listen", "--backend", "--no-health-check"],
        "demo-backend" => ["--listen"],
        "cluster mode (no command)" => ["--restricted-cidr", "--exclude", "--engine", "--policy", "--link-device", "--no-announce",
            "--kubeconfig", "--load-balancer-class", "--ignore-unclassed", "--backends", "--worker-selector", "--node-address-types",
            "--tag-worker-nodes", "--set-external-ips", "--lease-namespace", "--lease-name", "--lease-identity", "--no-leader-election"],
        _ => [],
    };

    private static string Describe(RunMode mode) => mode switch
    {
        RunMode.CheckPool => "check-pool",
        RunMode.Standalone => "standalone",
        RunMode.Forward => "forward",
        RunMode.DemoBackend => "demo-backend",
        RunMode.Cluster => "cluster mode (no command)",
        RunMode.Version => "--version",
        _ => "no command",
    };

    private static ClusterOptions ClusterValue(ClusterOptions cluster, string flag, string value, List<string> errors)
    {
        switch (flag)
        {
            case "--kubeconfig":
                return cluster with { Kubeconfig = value };
            case "--load-balancer-class":
                return cluster with { LoadBalancerClass = value };
            case "--backends" when value is "nodeports" or "endpoints":
                return cluster with { Backends = value };
            case "--backends":
                errors.Add($"--backends: '{value}' must be nodeports or endpoints");
                return cluster;
            case "--worker-selector":
                return cluster with { WorkerSelector = value };
            case "--node-address-types":
                var types = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var unknown = types.Where(type => !NodeAddressTypes.Contains(type)).ToList();
                if (types.Length == 0 || unknown.Count > 0)
                {
                    errors.Add($"--node-address-types: '{value}' must list {string.Join(", ", NodeAddressTypes)} (comma-separated)");
                    return cluster;
                }

                return cluster with { NodeAddressTypes = types };
            case "--lease-namespace":
                return cluster with { LeaseNamespace = value };
            case "--lease-name":
                return cluster with { LeaseName = value };
            default:
                return cluster with { LeaseIdentity = value };
        }
    }

    private static readonly string[] NodeAddressTypes = ["InternalIP", "ExternalIP"];

    private static void TakeEndpoint(IReadOnlyList<string> args, ref int index, string flag, string? inlineValue, List<string> errors, List<Endpoint> into)
    {
        if (TakeValue(args, ref index, flag, inlineValue, errors) is not { } text)
        {
            return;
        }

        if (EndpointText.TryParse(text, defaultPort: null, out var endpoint, out var error))
        {
            into.Add(endpoint);
        }
        else
        {
            errors.Add($"{flag}: {error}");
        }
    }

    /// <summary>The same empty array as the default, so that options compare equal as values.</summary>
    private static Endpoint[] Endpoints(List<Endpoint> endpoints) => endpoints.Count == 0 ? Array.Empty<Endpoint>() : [.. endpoints];

    private static (string Flag, string? Value) SplitInlineValue(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    private static string? TakeValue(IReadOnlyList<string> args, ref int index, string flag, string? inlineValue, List<string> errors)
    {
        if (inlineValue is not null)
        {
            if (inlineValue.Length == 0)
            {
                errors.Add($"option '{flag}' needs a value");
                return null;
            }

            return inlineValue;
        }

        if (index + 1 >= args.Count || args[index + 1].StartsWith("--", StringComparison.Ordinal))
        {
            errors.Add($"option '{flag}' needs a value");
            return null;
        }

        index++;
        return args[index];
    }
}
