using System.Globalization;
using LoadBalancer.Cluster.Benchmarks;
using LoadBalancer.Cluster.Benchmarks.RealApi;

// End-to-end figures of the daemon in cluster mode against the fake API server, or (--api real) against etcd and
// kube-apiserver; see docs/benchmarks.md, "Cluster mode".
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
      --api fake|real         fake (default): the in-process fake API server; real: etcd and kube-apiserver (KUBEBUILDER_ASSETS),
                              the Release daemon as its own process in every scenario
    with --api real:
      --services N[,N…]       scale 5000; failover 100,1000,5000 (one control plane per N); latency 200
      --background N          latency: Services served before the measured ones are added (5000)
      --idle-seconds N        scale: how long idle CPU is measured after all is served (30)
      --rounds N              failover: SIGKILL rounds per N before the SIGTERM (3)
    """;

string scenario = "all", command = "dotnet run -c Release --project benchmarks/Cluster.Benchmarks";
int? services = null;
List<int>? serviceList = null;
string api = "fake";
int background = 5000, idleSeconds = 30;
int? chosenRounds = null;
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
            serviceList = [.. Text(++i).Split(',').Select(part => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"--services needs positive numbers, separated by commas: '{args[i]}'"))];
            services = serviceList[0];
            break;
        case "--api":
            api = Text(++i) is "fake" or "real" ? args[i] : throw new ArgumentException($"--api is fake or real, not '{args[i]}'");
            break;
        case "--background":
            background = Number(++i);
            break;
        case "--idle-seconds":
            idleSeconds = Number(++i);
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
            chosenRounds = rounds;
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

if (api == "real")
{
    return await RunRealAsync();
}

if (serviceList is { Count: > 1 })
{
    throw new ArgumentException("a list of --services is for --api real failover");
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

// The real API server: every scenario its own control plane, the daemon always the Release build as its own process.
async Task<int> RunRealAsync()
{
    if (KubeAssetsMissing() is { } missing)
    {
        Console.Error.WriteLine($"--api real: {missing}");
        return 3;
    }

    var root = RepositoryRoot.Find();
    var daemon = RepositoryRoot.Daemon(root, daemonPath);
    var machine = Machine.Describe(root, MachineLoad.LoadAverage());
    var blocks = new List<(string Scenario, string Markdown)>();
    var all = scenario is "all" or "both";
    if (scenario is "latency" || all)
    {
        var count = scenario == "latency" && serviceList is { } latencyList ? latencyList[0] : 200;
        Console.Error.WriteLine($"== real-api latency: {count} Services after {warmup} warm-up ones, {background} already served");
        var started = DateTime.UtcNow;
        var result = await RealLatencyBenchmark.RunAsync(count, warmup, background, daemon, keep, Console.Error);
        blocks.Add(("real-latency", RealReport.Latency(Now(machine, blocks), command, started, result)));
    }

    if (scenario is "scale" || all)
    {
        var count = scenario == "scale" && serviceList is { } scaleList ? scaleList[0] : 5000;
        Console.Error.WriteLine($"== real-api scale: {count} Services, daemon {daemon}");
        var started = DateTime.UtcNow;
        var result = await RealScaleBenchmark.RunAsync(count, daemon, TimeSpan.FromSeconds(idleSeconds), keep, Console.Error);
        blocks.Add(("real-scale", RealReport.Scale(Now(machine, blocks), command, started, result)));
    }

    if (scenario is "failover" || scenario == "all")
    {
        var counts = scenario == "failover" && serviceList is { } failoverList ? failoverList : [100, 1000, 5000];
        var started = DateTime.UtcNow;
        var results = new List<RealFailoverResult>();
        var at = Now(machine, blocks);
        foreach (var count in counts)
        {
            Console.Error.WriteLine($"== real-api failover: {count} Services, {chosenRounds ?? 3} SIGKILL rounds and one SIGTERM, daemon {daemon}");
            results.Add(await RealFailoverBenchmark.RunAsync(count, chosenRounds ?? 3, daemon, keep, Console.Error));
        }

        blocks.Add(("real-failover", RealReport.Failover(at, command, started, results)));
    }

    await WriteAsync(blocks);
    return 0;
}

static string? KubeAssetsMissing() => LoadBalancer.EndToEnd.Tests.Kubernetes.KubeAssets.Missing();

static Machine Now(Machine machine, List<(string, string)> blocks) =>
    blocks.Count == 0 ? machine : machine with { LoadAverage = MachineLoad.LoadAverage() };

async Task WriteAsync(List<(string Scenario, string Markdown)> written)
{
    var text = string.Join("\n\n", written.Select(block => block.Markdown));
    Console.WriteLine(text);
    if (markdownPath is not null)
    {
        await File.WriteAllTextAsync(markdownPath, text + "\n");
    }

    if (markdownDirectory is not null)
    {
        Directory.CreateDirectory(markdownDirectory);
        foreach (var (name, block) in written)
        {
            await File.WriteAllTextAsync(Path.Combine(markdownDirectory, name + ".md"), block + "\n");
        }
    }
}

// A scenario after the first gets the load average from just before it, not from before the whole run.
Machine RunMachine() => blocks.Count == 0 ? machine : machine with { LoadAverage = MachineLoad.LoadAverage() };

int Number(int at) => at < args.Length && int.TryParse(args[at], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
    ? value
    : throw new ArgumentException($"{args[at - 1]} needs a positive number");

string Text(int at) => at < args.Length ? args[at] : throw new ArgumentException($"{args[at - 1]} needs a value");
