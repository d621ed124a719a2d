using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Text;
using LoadBalancer.Host.Cluster;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Demo;
using LoadBalancer.Host.Forward;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Host.Standalone;
using LoadBalancer.Host.Tools;
using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Host.CommandLine;

/// <summary>The commands, their flags, and what each runs: the table of contents of the command line.</summary>
public static class LoadBalancerCommands
{
    public const string Name = "loadbalancer";

    private const string Description = """
        Little Load Balancer: Services of type LoadBalancer on bare metal, k3d and VMs.

        Without a command it runs against a Kubernetes cluster (in a pod through the service account, elsewhere through
        --kubeconfig, $KUBECONFIG or ~/.kube/config). Modes that serve run until Ctrl-C, SIGTERM or SIGQUIT, then drain
        open connections (--drain-timeout) and exit 0; SIGHUP reloads the configuration, SIGUSR1 logs the state.
        Every flag can also be set in the configuration file or the environment: docs/configuration.md.
        """;

    public static Command Create(RunContext run) => Build(run).Root;

    /// <summary>
    /// The same root with only <c>forward</c>: what the native forwarder (src/Forwarder) compiles in. Nothing the other
    /// commands reach (the Kubernetes client and its models, the admin endpoint) is reachable from it, so the ahead-of-time
    /// compiler leaves it out (docs/adr/0011-memory-footprint.md).
    /// </summary>
    public static Command CreateForwardOnly(RunContext run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var root = Root(run);
        root.Subcommands.Add(Forward(run, new()));
        return root;
    }

    /// <summary>The commands, and for each the configuration inputs its flags give (what tests inspect).</summary>
    public static CommandTree Build(RunContext run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var inputs = new Dictionary<Command, Func<ParseResult, ConfigurationInputs>>();
        var root = Root(run);
        var clusterFlags = new ConfigurationFlags(FlagGroups.All);
        var standaloneFile = new Option<string>("--standalone") { Description = "Same as the standalone command.", HelpName = "FILE" };
        Add(root, clusterFlags);
        root.Options.Add(standaloneFile);
        inputs[root] = parsed => Inputs(run, parsed.GetValue(standaloneFile) is null ? DaemonMode.Cluster : DaemonMode.Standalone, clusterFlags, parsed);
        root.SetAction((parsed, stopping) => parsed.GetValue(standaloneFile) is { } file
            ? StandaloneMode.RunAsync(run, Inputs(run, DaemonMode.Standalone, clusterFlags, parsed), file, stopping)
            : ClusterMode.RunAsync(run, Inputs(run, DaemonMode.Cluster, clusterFlags, parsed), stopping));

        root.Subcommands.Add(Standalone(run, inputs));
        root.Subcommands.Add(Forward(run, inputs));
        root.Subcommands.Add(DemoBackend(run, inputs));
        root.Subcommands.Add(CheckPool(run, inputs));
        root.Subcommands.Add(Config(run, inputs));
        root.Subcommands.Add(Check(run, inputs));
        root.Subcommands.Add(Status(run, inputs));
        return new CommandTree(root, inputs);
    }

    /// <summary>The program's root command with its help and version options: both command lines start from it.</summary>
    private static Command Root(RunContext run) =>
        new(Name, Description) { new HelpOption(), new VersionOption { Action = new PrintVersion(run) } };

    public static ConfigurationInputs Inputs(RunContext run, DaemonMode mode, ConfigurationFlags flags, ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(parsed);
        return StartingConfiguration.Inputs(run, mode, parsed.GetValue(flags.Config), flags.Given(parsed));
    }

    private static Command Standalone(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("standalone", """
            Serve the Services of type LoadBalancer in a Kubernetes YAML file, without a cluster: allocate their IPs
            (default pool 127.0.100.0/24), forward to the backends in their littlelb.io/backends annotations, and apply
            every change to the file. Also written --standalone FILE. See docs/standalone.md.
            """);
        var file = new Argument<string>("FILE") { Description = "The Services file.", Arity = ArgumentArity.ZeroOrOne };
        command.Arguments.Add(file);
        var flags = new ConfigurationFlags(FlagGroups.Pool | FlagGroups.Forwarding | FlagGroups.Serving);
        Add(command, flags);
        command.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValue(file)))
            {
                result.AddError("standalone: a FILE is required: loadbalancer standalone FILE (e.g. examples/standalone.yaml)");
            }
        });
        inputs[command] = parsed => Inputs(run, DaemonMode.Standalone, flags, parsed);
        command.SetAction((parsed, stopping) =>
            StandaloneMode.RunAsync(run, Inputs(run, DaemonMode.Standalone, flags, parsed), parsed.GetValue(file)!, stopping));
        return command;
    }

    private static Command Forward(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("forward", "One listener, no allocation: --listen IP:PORT to one or more --backend IP:PORT.");
        var listen = Endpoints("--listen", "The address to listen on.");
        var backend = Endpoints("--backend", "A backend; repeat for more.");
        var noHealthCheck = new Option<bool>("--no-health-check") { Description = "Do not probe the backends." };
        var proxyProtocol = new Option<string>("--proxy-protocol")
        {
            Description = "Start each backend connection with a PROXY protocol header naming the client (as the littlelb.io/proxy-protocol annotation).",
            HelpName = "v1|v2",
        };
        command.Options.Add(listen);
        command.Options.Add(backend);
        command.Options.Add(noHealthCheck);
        command.Options.Add(proxyProtocol);
        var flags = new ConfigurationFlags(FlagGroups.Forwarding);
        Add(command, flags);
        command.Validators.Add(result =>
        {
            Check(result, listen, backend);
            if (Valid(result.GetResult(listen)) is var listens and not 1)
            {
                result.AddError($"forward: exactly one --listen IP:PORT is required ({listens} given)");
            }

            if (Valid(result.GetResult(backend)) == 0)
            {
                result.AddError("forward: at least one --backend IP:PORT is required");
            }

            if (result.GetValue(proxyProtocol) is { } version && !ProxyProtocolVersionNames.TryParse(version, out _))
            {
                result.AddError($"--proxy-protocol: {QuotedValue.Of(version)} {ProxyProtocolVersionNames.Expected}");
            }
        });
        inputs[command] = parsed => Inputs(run, DaemonMode.Forward, flags, parsed);
        command.SetAction((parsed, stopping) => ForwardMode.RunAsync(
            run,
            Inputs(run, DaemonMode.Forward, flags, parsed),
            new ForwardSettings(parsed.GetValue(listen)![0], parsed.GetValue(backend)!)
            {
                HealthCheck = !parsed.GetValue(noHealthCheck),
                ProxyProtocol = ProxyProtocolVersionNames.TryParse(parsed.GetValue(proxyProtocol), out var version) ? version : ProxyProtocolVersion.None,
            },
            stopping));
        return command;
    }

    private static Command DemoBackend(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("demo-backend", "A tiny HTTP server answering \"hello from IP:PORT\" on each --listen IP:PORT (and UDP datagrams on each --listen-udp IP:PORT).");
        var listen = Endpoints("--listen", "An address to answer on; repeat for more.");
        var listenUdp = Endpoints("--listen-udp", "A UDP address answering each datagram with \"hello from IP:PORT: <datagram>\"; repeat for more.");
        command.Options.Add(listen);
        command.Options.Add(listenUdp);
        var proxyProtocol = new Option<bool>("--proxy-protocol")
        {
            Description = "Expect a PROXY protocol header (v1 or v2) on each connection and answer \"hello from IP:PORT to client CLIENTIP:CLIENTPORT\".",
        };
        command.Options.Add(proxyProtocol);
        var flags = new ConfigurationFlags(FlagGroups.None);
        Add(command, flags);
        command.Validators.Add(result =>
        {
            Check(result, listen);
            Check(result, listenUdp);
            if (Valid(result.GetResult(listen)) == 0 && Valid(result.GetResult(listenUdp)) == 0)
            {
                result.AddError("demo-backend: at least one --listen IP:PORT (or --listen-udp IP:PORT) is required");
            }
        });
        inputs[command] = parsed => Inputs(run, DaemonMode.DemoBackend, flags, parsed);
        command.SetAction((parsed, stopping) =>
            DemoBackendMode.RunAsync(run, Inputs(run, DaemonMode.DemoBackend, flags, parsed), parsed.GetValue(listen) ?? [], parsed.GetValue(listenUdp) ?? [],
                parsed.GetValue(proxyProtocol), stopping));
        return command;
    }

    private static Command CheckPool(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("check-pool", "Parse the pool, print its size and first addresses, and exit (0 when it is valid, 2 when it is not).");
        var flags = new ConfigurationFlags(FlagGroups.Pool);
        Add(command, flags);
        inputs[command] = parsed => Inputs(run, DaemonMode.Cluster, flags, parsed);
        command.SetAction(parsed => CheckPoolCommand.RunAsync(run, Inputs(run, DaemonMode.Cluster, flags, parsed)));
        return command;
    }

    private static Command Config(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("config", "Print the effective configuration: every key, its value, and where the value came from (default, file, env, flag).");
        var flags = new ConfigurationFlags(FlagGroups.All);
        var standalone = new Option<bool>("--standalone") { Description = "With the standalone mode's defaults (its pool, no link device)." };
        command.Options.Add(standalone);
        Add(command, flags);
        inputs[command] = parsed => Inputs(run, parsed.GetValue(standalone) ? DaemonMode.Standalone : DaemonMode.Cluster, flags, parsed);
        command.SetAction(parsed => ConfigCommand.RunAsync(
            run, Inputs(run, parsed.GetValue(standalone) ? DaemonMode.Standalone : DaemonMode.Cluster, flags, parsed)));
        return command;
    }

    private static Command Status(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("status", "Ask a running daemon's admin endpoint for its state and print it as a table (pools, Services, ports, backends, traffic).");
        var address = new Option<string>("--admin-address") { Description = "The daemon's admin endpoint (default: the configuration's adminAddress, 127.0.0.1:9090).", HelpName = "IP:PORT" };
        var output = new Option<string>("--output", "-o") { Description = "table (default) or json (the /api/v1/state document).", HelpName = "table|json" };
        output.AcceptOnlyFromAmong("table", "json");
        command.Options.Add(address);
        command.Options.Add(output);
        var flags = new ConfigurationFlags(FlagGroups.None);
        Add(command, flags);
        inputs[command] = parsed => Inputs(run, DaemonMode.Standalone, flags, parsed);
        command.SetAction((parsed, stopping) => StatusCommand.RunAsync(
            run, Inputs(run, DaemonMode.Standalone, flags, parsed), parsed.GetValue(address), parsed.GetValue(output) == "json", stopping));
        return command;
    }

    private static Command Check(RunContext run, Dictionary<Command, Func<ParseResult, ConfigurationInputs>> inputs)
    {
        var command = new Command("check", "Validate the configuration and the given Services files without touching the network; every problem at once, exit 1 when anything is wrong.");
        var files = new Argument<string[]>("FILE") { Description = "Services files (Kubernetes YAML) to check.", Arity = ArgumentArity.ZeroOrMore };
        command.Arguments.Add(files);
        var flags = new ConfigurationFlags(FlagGroups.All);
        Add(command, flags);
        inputs[command] = parsed => Inputs(run, DaemonMode.Cluster, flags, parsed);
        command.SetAction(parsed => CheckCommand.RunAsync(run, Inputs(run, DaemonMode.Cluster, flags, parsed), parsed.GetValue(files) ?? []));
        return command;
    }

    private static void Add(Command command, ConfigurationFlags flags)
    {
        foreach (var option in flags.Options)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>A repeatable IP:PORT flag; each value that is not one is an error naming the flag and the value.</summary>
    private static Option<Endpoint[]> Endpoints(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "IP:PORT",
        AllowMultipleArgumentsPerToken = false,
        // The values were checked by the command (Check): what is left to parse parses.
        CustomParser = result => [.. result.Tokens
            .Select(token => EndpointText.TryParse(token.Value, defaultPort: null, out var endpoint, out _) ? endpoint : null)
            .OfType<Endpoint>()],
    };

    /// <summary>Every value of the IP:PORT flags that is not one, as an error naming the flag and the value.</summary>
    private static void Check(CommandResult command, params Option<Endpoint[]>[] options)
    {
        foreach (var option in options)
        {
            foreach (var token in command.GetResult(option)?.Tokens ?? [])
            {
                if (!EndpointText.TryParse(token.Value, defaultPort: null, out _, out var error))
                {
                    command.AddError($"{option.Name}: {error}");
                }
            }
        }
    }

    /// <summary>How many of a flag's values are endpoints (the others are reported by the flag's own parser).</summary>
    private static int Valid(OptionResult? result) =>
        result?.Tokens.Count(token => EndpointText.TryParse(token.Value, defaultPort: null, out _, out _)) ?? 0;

    private sealed class PrintVersion(RunContext run) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            run.Output.WriteLine($"{Name} {LoadBalancerApp.Version}");
            return ExitCodes.Success;
        }
    }
}

/// <summary>The root command, and the configuration inputs each command's flags give.</summary>
public sealed record CommandTree(Command Root, IReadOnlyDictionary<Command, Func<ParseResult, ConfigurationInputs>> Inputs)
{
    /// <summary>The inputs of the command <paramref name="parsed"/> chose; null for one without configuration.</summary>
    public ConfigurationInputs? InputsOf(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        return Inputs.TryGetValue(parsed.CommandResult.Command, out var inputs) ? inputs(parsed) : null;
    }
}
