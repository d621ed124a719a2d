using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using LoadBalancer.Health.Benchmarks;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// Opens N listeners on 127.0.131.1-248 whose backends are dead, with the default health checks (TCP, 10 s, 5 s
// timeout, 2/3), waits until the checks have settled, then measures this process's CPU (/proc/self/stat) and its log
// lines over a window. Targets: "refused" ports on 127.0.131.250 that nobody listens on (RST at once) and "silent"
// listening sockets on 127.0.131.249 whose accept queue is full, so SYNs are dropped and probes run into their timeout.
//   distinct: listener i has its own target (half refused, half silent), as Services' NodePorts on dead nodes are.
//   shared:   every listener has the same two backends (one refused, one silent).
var listeners = Argument("--listeners", 5_000);
var variant = Text("--variant", "distinct");
var settle = TimeSpan.FromSeconds(Argument("--settle", 90));
var window = TimeSpan.FromSeconds(Argument("--measure", 30));
if (variant is not ("distinct" or "shared"))
{
    Console.Error.WriteLine($"--variant: '{variant}' must be distinct or shared");
    return 2;
}

// --unhealthy-factor N sets ForwarderOptions.UnhealthyCheckIntervalFactor, by reflection so that the program still builds
// against commits without it (where asking for it is an error): factor 1 isolates the per-probe savings.
var options = new ForwarderOptions();
if (Array.IndexOf(args, "--unhealthy-factor") >= 0)
{
    var property = typeof(ForwarderOptions).GetProperty("UnhealthyCheckIntervalFactor");
    if (property is null)
    {
        Console.Error.WriteLine("--unhealthy-factor: this build's ForwarderOptions has no UnhealthyCheckIntervalFactor");
        return 2;
    }

    property.SetValue(options, Argument("--unhealthy-factor", 3));
}

var counter = new CountingLoggerProvider();
var services = new ServiceCollection()
    .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Information).AddProvider(counter))
    .AddInfrastructure(options);
await using var provider = services.BuildServiceProvider();
var forwarder = provider.GetRequiredService<IForwarder>();

var refusedAddress = IPAddress.Parse("127.0.131.250");
var silentAddress = IPAddress.Parse("127.0.131.249");
var silent = new List<Socket>();
Endpoint Refused() => new(refusedAddress, FreePort(refusedAddress));
Endpoint Silent()
{
    var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    server.Bind(new IPEndPoint(silentAddress, 0));
    server.Listen(0);

    // One connection fills a backlog of 0; never accepted, so every later SYN is dropped.
    var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    filler.Connect(server.LocalEndPoint!);
    silent.Add(server);
    silent.Add(filler);
    var endpoint = (IPEndPoint)server.LocalEndPoint!;
    return new Endpoint(endpoint.Address, endpoint.Port);
}

Endpoint[] shared = variant == "shared" ? [Refused(), Silent()] : [];
var started = DateTime.UtcNow;
for (var index = 0; index < listeners; index++)
{
    var ip = new IPAddress([127, 0, 131, (byte)(1 + (index % 248))]);
    var binding = new PortBinding(ip, ServicePort.Tcp(FreePort(ip)));
    Endpoint[] backends = variant == "shared" ? shared : [index % 2 == 0 ? Refused() : Silent()];
    var spec = new ListenerSpec(binding, new ServiceKey("bench", $"svc-{index}"), backends, LoadBalancingPolicyNames.RoundRobin) { HealthCheck = HealthCheckSettings.Default };
    var result = await forwarder.ApplyAsync(spec, CancellationToken.None);
    if (!result.Succeeded)
    {
        Console.Error.WriteLine($"listener {index} ({binding}): {result.Error}");
        return 1;
    }
}

if (silent.Count > 0 && !await ConnectTimesOutAsync((IPEndPoint)silent[0].LocalEndPoint!))
{
    Console.Error.WriteLine("warning: a silent target answered a connect; the silent half is not silent");
}

Console.WriteLine($"{listeners} listeners ({variant}) open after {(DateTime.UtcNow - started).TotalSeconds:F1} s; settling {settle.TotalSeconds:F0} s");
await Task.Delay(settle);
var settled = counter.Snapshot();
var cpuBefore = CpuSeconds();
var wallBefore = DateTime.UtcNow;
await Task.Delay(window);
var cpu = CpuSeconds() - cpuBefore;
var wall = (DateTime.UtcNow - wallBefore).TotalSeconds;
var during = counter.Snapshot() - settled;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"variant={variant} listeners={listeners} cpu_s={cpu:F2} wall_s={wall:F1} cores={cpu / wall:F4} " +
    $"log_until_settled: warnings={settled.Warnings} lines={settled.Lines} bytes={settled.Bytes} " +
    $"log_during_window: warnings={during.Warnings} lines={during.Lines} bytes={during.Bytes}"));
foreach (var socket in silent)
{
    socket.Dispose();
}

return 0;

static int FreePort(IPAddress ip)
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    socket.Bind(new IPEndPoint(ip, 0));
    return ((IPEndPoint)socket.LocalEndPoint!).Port;
}

static async Task<bool> ConnectTimesOutAsync(IPEndPoint endpoint)
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
    try
    {
        await socket.ConnectAsync(endpoint, timeout.Token);
        return false;
    }
    catch (OperationCanceledException)
    {
        return true;
    }
}

// utime + stime of every thread of this process, in seconds (USER_HZ is 100 on Linux x86-64 and arm64).
static double CpuSeconds()
{
    var stat = File.ReadAllText("/proc/self/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

int Argument(string name, int fallback) =>
    Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;

string Text(string name, string fallback) =>
    Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
