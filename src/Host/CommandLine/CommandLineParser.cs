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
          -h, --help              Show this help.
          --version               Show the version.
        """;

    private static readonly string[] Commands = ["check-pool", "standalone", "forward", "demo-backend"];

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
                default:
                    errors.Add(arg.StartsWith('-')
                        ? $"unknown option '{arg}' (see --help)"
                        : $"unknown command '{arg}' (see --help)");
                    break;
            }
        }

        var chosen = help ? RunMode.Help : mode ?? RunMode.Help;
        options = options with { Mode = chosen, Listen = Endpoints(listen), Backends = Endpoints(backends) };
        if (chosen == RunMode.Standalone && !given.Contains("--restricted-cidr"))
        {
            options = options with { RestrictedCidr = CommandLineOptions.StandalonePool };
        }

        if (chosen is RunMode.CheckPool or RunMode.Standalone or RunMode.Forward or RunMode.DemoBackend)
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
        "standalone" => ["--restricted-cidr", "--exclude", "--engine", "--policy", "--link-device", "--no-announce"],
        "forward" => ["--engine", "--policy", "--listen", "--backend", "--no-health-check"],
        "demo-backend" => ["--listen"],
        _ => [],
    };

    private static string Describe(RunMode mode) => mode switch
    {
        RunMode.CheckPool => "check-pool",
        RunMode.Standalone => "standalone",
        RunMode.Forward => "forward",
        RunMode.DemoBackend => "demo-backend",
        RunMode.Version => "--version",
        _ => "no command",
    };

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
