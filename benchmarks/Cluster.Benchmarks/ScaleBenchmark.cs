using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Tests.FakeKubernetesApi;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>One start of the daemon against a cluster of many Services, up to its stop by SIGTERM.</summary>
internal sealed record ScaleRun(
    string Name,
    int ServicesWithStatusBefore,
    double CachesSyncedMs,
    double? LeaderMs,
    double ReadyMs,
    string ReadyLine,
    long RssAtReadyKiB,
    long PeakRssKiB,
    long RssAfterSettleKiB,
    long RssAnonKiB,
    long RssFileKiB,
    long RssShmemKiB,
    int Threads,
    int OpenFiles,
    double DaemonCpuSecondsToReady,
    double ApiServerCpuSecondsToReady,
    int StatusPatches,
    int StatusPatchesAtReady,
    int EventsRecorded,
    int ListRequests,
    int SampledAccepting,
    int Sampled,
    double? ShutdownMs,
    int? ExitCode,
    int LogLines,
    string LogPath,
    double OthersCores);

internal sealed record ScaleResult(int Services, int DistinctPorts, string Pool, int Nodes, bool LeaderElection, string DaemonDll,
    (string Soft, string Hard)? DaemonOpenFilesLimit, (string Soft, string Hard)? OwnOpenFilesLimit, IReadOnlyList<ScaleRun> Runs);

/// <summary>
/// The Release daemon as a separate process against the fake API server pre-loaded with many LoadBalancer Services:
/// start to ready, memory, and shutdown; once cold (no Service has an IP yet) and once as a restart (every Service
/// already carries the IP the first run wrote).
/// </summary>
internal static class ScaleBenchmark
{
    public const string Pool = "127.0.130.0/24";
    public const int DistinctPorts = 1000;
    public const int FirstPort = 20000;
    private const int NodeCount = 3;
    private const string CachesSyncedMarker = "Caches synced:";
    private const string LeaderMarker = "is now the leader";
    private const string ReadyMarker = "Every Service reconciled:";
    private static readonly TimeSpan ReadyLimit = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ShutdownLimit = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    public static async Task<ScaleResult> RunAsync(int services, string daemonDll, bool leaderElection, bool keepLogs, TextWriter progress)
    {
        var dll = daemonDll;

        await using var api = await FakeApiServer.StartAsync().ConfigureAwait(false);
        for (var n = 1; n <= NodeCount; n++)
        {
            api.PutNode(BenchObjects.WorkerNode($"worker-{n}", "127.0.0.1"));
        }

        for (var i = 0; i < services; i++)
        {
            // Node ports are not contacted (no connection goes through); they only need to be valid.
            api.PutService(BenchObjects.LoadBalancerService($"svc-{i:D5}", FirstPort + (i % DistinctPorts), 30000 + (i % 2768)));
        }

        var work = Directory.CreateTempSubdirectory("llb-cluster-bench-");
        var kubeconfig = Path.Combine(work.FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, Kubeconfig(api.BaseAddress)).ConfigureAwait(false);
        string[] arguments = ["--kubeconfig", kubeconfig, "--restricted-cidr", Pool, "--no-announce", .. leaderElection ? Array.Empty<string>() : ["--no-leader-election"]];

        var runs = new List<ScaleRun>();
        (string, string)? daemonLimit = null;
        try
        {
            foreach (var name in new[] { "cold", "restart" })
            {
                await progress.WriteLineAsync($"   scale: {name} start with {services} services").ConfigureAwait(false);
                var (run, limit) = await RunOnceAsync(api, services, dll, arguments, name, Path.Combine(work.FullName, $"daemon-{name}.log")).ConfigureAwait(false);
                daemonLimit ??= limit;
                runs.Add(run);
                await progress.WriteLineAsync($"   scale: {name}: ready in {run.ReadyMs:F0} ms, peak RSS {run.PeakRssKiB / 1024.0:F1} MiB, "
                    + $"{run.StatusPatches} status patches" + (keepLogs ? $"; log {run.LogPath}" : string.Empty)).ConfigureAwait(false);
            }
        }
        finally
        {
            if (!keepLogs)
            {
                work.Delete(recursive: true);
            }
        }

        return new ScaleResult(services, DistinctPorts, Pool, NodeCount, leaderElection, dll, daemonLimit, ProcFs.OpenFilesLimit(Environment.ProcessId), runs);
    }

    private static async Task<(ScaleRun Run, (string, string)? Limit)> RunOnceAsync(
        FakeApiServer api, int services, string dll, string[] arguments, string name, string logPath)
    {
        var withStatus = Enumerable.Range(0, services).Count(i => BenchObjects.IngressIp(api.GetService("default", $"svc-{i:D5}")) is not null);
        int patchesBefore = api.StatusPatches.Count, eventsBefore = api.Events.Count;
        var listsBefore = ListRequests(api);
        var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var load = new MachineLoad();

        using var daemon = DaemonProcess.Start(dll, arguments, logPath, [CachesSyncedMarker, LeaderMarker, ReadyMarker]);
        var readyMs = await daemon.WhenLoggedAsync(ReadyMarker, ReadyLimit).ConfigureAwait(false);
        var pid = daemon.Pid;
        var rssAtReady = ProcFs.StatusKiB(pid, "VmRSS") ?? 0;
        var daemonCpu = ProcFs.CpuSeconds(pid) ?? double.NaN;
        var ownCpu = (Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore).TotalSeconds;
        var others = load.OthersCores(ownCpu + daemonCpu);
        var patchesAtReady = api.StatusPatches.Count - patchesBefore;
        var cachesMs = await daemon.WhenLoggedAsync(CachesSyncedMarker, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        double? leaderMs = null;
        try
        {
            leaderMs = await daemon.WhenLoggedAsync(LeaderMarker, TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Without leader election there is no such line.
        }

        var readyLine = daemon.LineOf(ReadyMarker) ?? string.Empty;
        var (sampled, accepting) = await SampleListenersAsync(api, services).ConfigureAwait(false);

        // Whatever the daemon still does after ready (Events, the status writes' echoes) settles before memory is read again.
        await Task.Delay(Settle).ConfigureAwait(false);
        var rssAfter = ProcFs.StatusKiB(pid, "VmRSS") ?? 0;
        var peak = ProcFs.StatusKiB(pid, "VmHWM") ?? 0;
        var anon = ProcFs.StatusKiB(pid, "RssAnon") ?? 0;
        var file = ProcFs.StatusKiB(pid, "RssFile") ?? 0;
        var shmem = ProcFs.StatusKiB(pid, "RssShmem") ?? 0;
        var threads = int.Parse(ProcFs.StatusField(pid, "Threads") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var openFiles = ProcFs.OpenFiles(pid) ?? 0;
        var limit = ProcFs.OpenFilesLimit(pid);

        var stopped = await daemon.TerminateAsync(ShutdownLimit).ConfigureAwait(false);
        var run = new ScaleRun(
            name,
            withStatus,
            cachesMs,
            leaderMs,
            readyMs,
            readyLine,
            rssAtReady,
            peak,
            rssAfter,
            anon,
            file,
            shmem,
            threads,
            openFiles,
            daemonCpu,
            ownCpu,
            api.StatusPatches.Count - patchesBefore,
            patchesAtReady,
            api.Events.Count - eventsBefore,
            ListRequests(api) - listsBefore,
            accepting,
            sampled,
            stopped?.Ms,
            stopped?.ExitCode,
            daemon.LogLines,
            logPath,
            others);
        return (run, limit);
    }

    /// <summary>Connects to a few Services' IP:port from their status: the listeners exist, not only the status.</summary>
    private static async Task<(int Sampled, int Accepting)> SampleListenersAsync(FakeApiServer api, int services)
    {
        int sampled = 0, accepting = 0;
        foreach (var i in new[] { 0, 1, services / 2, services - 1 }.Distinct().Where(i => i >= 0 && i < services))
        {
            var ip = BenchObjects.IngressIp(api.GetService("default", $"svc-{i:D5}"));
            sampled++;
            if (ip is null)
            {
                continue;
            }

            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await client.ConnectAsync(IPAddress.Parse(ip), FirstPort + (i % DistinctPorts), timeout.Token).ConfigureAwait(false);
                accepting++;
            }
            catch (SocketException reset) when (reset.SocketErrorCode == SocketError.ConnectionReset)
            {
                // The listener took the connection and reset it, since no node port answers here, before the connect
                // had reported success. A port nobody listens on gives ConnectionRefused instead.
                accepting++;
            }
            catch (Exception failure) when (failure is SocketException or OperationCanceledException)
            {
            }
        }

        return (sampled, accepting);
    }

    /// <summary>Lists (pages included) of Services, Nodes and EndpointSlices; not watches, not the Lease reads of leader election.</summary>
    private static int ListRequests(FakeApiServer api) =>
        api.Requests.Count(request => request.Method == "GET" && !request.IsWatch
            && (request.Path.EndsWith("/services", StringComparison.Ordinal) || request.Path.EndsWith("/nodes", StringComparison.Ordinal)
                || request.Path.EndsWith("/endpointslices", StringComparison.Ordinal)));

    /// <summary>KubernetesClient refuses a user without credentials; the fake server checks none, so any token does.</summary>
    public static string Kubeconfig(Uri server) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: {server.GetLeftPart(UriPartial.Authority)}
        users:
        - name: benchmark
          user:
            token: unchecked-by-the-fake-server
        contexts:
        - name: fake
          context:
            cluster: fake
            user: benchmark
            namespace: default
        current-context: fake
        """;
}
