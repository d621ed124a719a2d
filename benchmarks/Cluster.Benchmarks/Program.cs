using System.Globalization;
using LoadBalancer.Cluster.Benchmarks;

// End-to-end figures of the daemon in cluster mode against the fake API server; see docs/benchmarks.md, "Cluster mode".
const string Usage = """
    usage: LoadBalancer.Cluster.Benchmarks [latency|scale|failover|both|all] [options]
      latency                 Services added one at a time to a ready in-process daemon: ADDED → status, ADDED → accepting
      scale                   the Release daemon as its own process against many Services: start to ready, memory, shutdown
      failover                two Release daemons with leader election: leader killed (SIGKILL, then SIGTERM) → standby serving
      both                    latency, then scale
      all                     (default) latency, scale, then failover
      --services N            Services for the scenario named (latency 200, scale 5000, failover 50)
      --latency-services N    Services for latency when several run (200)
      --scale-services N      Services for scale when several run (5000)
      --failover-services N   Services for failover when several run (50)
      --warmup N              latency Services added first and not counted (20)
      --rounds N              failover: leader crashes (SIGKILL), each followed by a restart of the dead replica (5)
      --no-leader-election    scale: run the daemon without leader election
      --keep                  scale, failover: keep the daemons' logs and kubeconfig (their directory is printed)
      --markdown FILE         also write the Markdown blocks, one after the other, to FILE
      --markdown-dir DIR      also write each scenario's Markdown block to DIR/<scenario>.md
      --shell-ulimit TEXT     the shell's `ulimit -n` / `ulimit -Hn`, for the report
      --daemon DLL            scale, failover: run this loadbalancer.dll (e.g. a ReadyToRun publish) instead of
                              src/Host/bin/Release/net10.0/loadbalancer.dll
    """;

string scenario = "all", command = "dotnet run -c Release --project benchmarks/Cluster.Benchmarks";
int? services = null;
int latencyServices = 200, scaleServices = 5000, failoverServices = 50, warmup = 20, rounds = 5;
bool leaderElection = true, keep = false;
string? markdownPath = null, markdownDirectory = null, shellUlimit = null, daemonPath = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "latency" or "scale" or "failover" or "both" or "all":
            scenario = args[i];
            break;
        case "--services":
            services = Number(++i);
            break;
        case "--latency-services":
            latencyServices = Number(++i);
            break;
        case "--scale-services":
            scaleServices = Number(++i);
            break;
        case "--failover-services":
            failoverServices = Number(++i);
            break;
        case "--warmup":
            warmup = Number(++i);
            break;
        case "--rounds":
            rounds = Number(++i);
            break;
        case "--no-leader-election":
            leaderElection = false;
            break;
        case "--keep":
            keep = true;
            break;
        case "--markdown":
            markdownPath = Text(++i);
            break;
        case "--markdown-dir":
            markdownDirectory = Text(++i);
            break;
        case "--shell-ulimit":
            shellUlimit = Text(++i);
            break;
        case "--daemon":
            daemonPath = Text(++i);
            break;
        case "--command":
            command = Text(++i);
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

if (services is { } chosen)
{
    switch (scenario)
    {
        case "latency":
            latencyServices = chosen;
            break;
        case "scale":
            scaleServices = chosen;
            break;
        case "failover":
            failoverServices = chosen;
            break;
        default:
            (latencyServices, scaleServices, failoverServices) = (chosen, chosen, chosen);
            break;
    }
}

var root = RepositoryRoot.Find();
var daemon = scenario == "latency" ? string.Empty : RepositoryRoot.Daemon(root, daemonPath);
var started = DateTime.UtcNow;
var machine = Machine.Describe(root, MachineLoad.LoadAverage());
var blocks = new List<(string Scenario, string Markdown)>();
if (scenario is "latency" or "both" or "all")
{
    Console.Error.WriteLine($"== latency: {latencyServices} services after {warmup} warm-up services");
    var latency = await LatencyBenchmark.RunAsync(latencyServices, warmup, Console.Error);
    blocks.Add(("latency", Report.Latency(machine, command, started, latency)));
}

if (scenario is "scale" or "both" or "all")
{
    Console.Error.WriteLine($"== scale: {scaleServices} services, daemon {daemon}");
    var scaleStarted = DateTime.UtcNow;
    var scale = await ScaleBenchmark.RunAsync(scaleServices, daemon, leaderElection, keep, Console.Error);
    blocks.Add(("scale", Report.Scale(RunMachine(), command, scaleStarted, scale, shellUlimit)));
}

if (scenario is "failover" or "all")
{
    Console.Error.WriteLine($"== failover: {failoverServices} services, {rounds} leader crashes and one SIGTERM, daemon {daemon}");
    var failoverStarted = DateTime.UtcNow;
    var failover = await FailoverBenchmark.RunAsync(failoverServices, rounds, daemon, keep, Console.Error);
    blocks.Add(("failover", Report.Failover(RunMachine(), command, failoverStarted, failover)));
}

var markdown = string.Join("\n\n", blocks.Select(block => block.Markdown));
Console.WriteLine(markdown);
if (markdownPath is not null)
{
    await File.WriteAllTextAsync(markdownPath, markdown + "\n");
}

if (markdownDirectory is not null)
{
    Directory.CreateDirectory(markdownDirectory);
    foreach (var (name, block) in blocks)
    {
        await File.WriteAllTextAsync(Path.Combine(markdownDirectory, name + ".md"), block + "\n");
    }
}

return 0;

// A scenario after the first gets the load average from just before it, not from before the whole run.
Machine RunMachine() => blocks.Count == 0 ? machine : machine with { LoadAverage = MachineLoad.LoadAverage() };

int Number(int at) => at < args.Length && int.TryParse(args[at], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
    ? value
    : throw new ArgumentException($"{args[at - 1]} needs a positive number");

string Text(int at) => at < args.Length ? args[at] : throw new ArgumentException($"{args[at - 1]} needs a value");
