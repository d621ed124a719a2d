using System.Globalization;
using LoadBalancer.Cluster.Benchmarks;

// End-to-end figures of the daemon in cluster mode against the fake API server; see docs/benchmarks.md, "Cluster mode".
const string Usage = """
    usage: LoadBalancer.Cluster.Benchmarks [latency|scale|both] [options]
      latency                 Services added one at a time to a ready in-process daemon: ADDED → status, ADDED → accepting
      scale                   the Release daemon as its own process against many Services: start to ready, memory, shutdown
      --services N            Services for the scenario named (latency 200, scale 5000)
      --latency-services N    Services for latency when both run (200)
      --scale-services N      Services for scale when both run (5000)
      --warmup N              latency Services added first and not counted (20)
      --no-leader-election    scale: run the daemon without leader election
      --keep                  scale: keep the daemon's logs and kubeconfig (their directory is printed)
      --markdown FILE         also write the Markdown block to FILE
      --shell-ulimit TEXT     the shell's `ulimit -n` / `ulimit -Hn`, for the report
    """;

string scenario = "both", command = "dotnet run -c Release --project benchmarks/Cluster.Benchmarks";
int? services = null;
int latencyServices = 200, scaleServices = 5000, warmup = 20;
bool leaderElection = true, keep = false;
string? markdownPath = null, shellUlimit = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "latency" or "scale" or "both":
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
        case "--warmup":
            warmup = Number(++i);
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
        case "--shell-ulimit":
            shellUlimit = Text(++i);
            break;
        case "--command":
            command = Text(++i);
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

if (services is { } chosen)
{
    (latencyServices, scaleServices) = scenario switch
    {
        "latency" => (chosen, scaleServices),
        "scale" => (latencyServices, chosen),
        _ => (chosen, chosen),
    };
}

var root = RepositoryRoot.Find();
var started = DateTime.UtcNow;
var loadAverage = MachineLoad.LoadAverage();
LatencyResult? latency = null;
ScaleResult? scale = null;
if (scenario is "latency" or "both")
{
    Console.Error.WriteLine($"== latency: {latencyServices} services after {warmup} warm-up services");
    latency = await LatencyBenchmark.RunAsync(latencyServices, warmup, Console.Error);
}

if (scenario is "scale" or "both")
{
    Console.Error.WriteLine($"== scale: {scaleServices} services, daemon {RepositoryRoot.ReleaseDaemon(root)}");
    scale = await ScaleBenchmark.RunAsync(scaleServices, root, leaderElection, keep, Console.Error);
}

var markdown = Report.Markdown(Machine.Describe(root, loadAverage), command, started, shellUlimit, latency, scale);
Console.WriteLine(markdown);
if (markdownPath is not null)
{
    await File.WriteAllTextAsync(markdownPath, markdown + "\n");
}

return 0;

int Number(int at) => at < args.Length && int.TryParse(args[at], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
    ? value
    : throw new ArgumentException($"{args[at - 1]} needs a positive number");

string Text(int at) => at < args.Length ? args[at] : throw new ArgumentException($"{args[at - 1]} needs a value");
