using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using k8s;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>One change of leader, each step in ms after the signal to the old leader was sent.</summary>
internal sealed record RealFailoverRound(
    int Number,
    bool Graceful,
    string OldLeader,
    string NewLeader,
    double? ExitMs,
    double? TakingOverMs,
    double LeaseMs,
    double? LeadingMs,
    double? ListeningAllMs,
    int ListeningSeen,
    double? ServingMs,
    double? ReadyMs,
    long LeaderPeakRssKiB,
    long StandbyPeakRssKiB,
    double OthersCores);

internal sealed record RealFailoverResult(
    int Services,
    string Pool,
    int DistinctPorts,
    string ProbedService,
    LeaderElectionOptions Election,
    int? LeaseDurationSeconds,
    TimeSpan CreateTime,
    IReadOnlyList<RealFailoverRound> Rounds,
    string LogFolder);

/// <summary>
/// Two Release daemons (--lease-identity one|two, one Lease) against the real API server with N Services: SIGKILL to
/// the leader, several rounds (the dead replica started again as the standby after each), then one SIGTERM; the time
/// until the Lease names the standby and until the standby has every Service's listener.
/// </summary>
internal static class RealFailoverBenchmark
{
    public const string Pool = "127.0.134.0/24";
    public const string NodeIp = "127.0.135.10";
    private const int DistinctPorts = RealScaleBenchmark.DistinctPorts;
    private const int FirstPort = RealScaleBenchmark.FirstPort;
    private static readonly string[] Identities = ["one", "two"];
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(60);

    /// <summary>The table is read more often here than at a start: the figures are a few seconds, not fifteen.</summary>
    private static readonly TimeSpan ListenerPoll = TimeSpan.FromMilliseconds(10);

    /// <summary>As in the fake-server failover: the restarted standby's start-up is over, and the signal falls at a random point of the renewal cycle.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public static async Task<RealFailoverResult> RunAsync(int services, int rounds, string dll, bool keepLogs, TextWriter progress)
    {
        var election = new LeaderElectionOptions();
        await using var cluster = await RealCluster.StartAsync(progress).ConfigureAwait(false);
        await cluster.CreateNodesAsync([NodeIp]).ConfigureAwait(false);
        var names = Enumerable.Range(0, services).Select(i => ($"fo-{i:D5}", FirstPort + (i % DistinctPorts))).ToList();
        var created = await cluster.CreateServicesAsync(names, progress).ConfigureAwait(false);
        var probed = names[0].Item1;
        var probedNodePort = (await cluster.Admin.CoreV1.ReadNamespacedServiceAsync(probed, RealCluster.Namespace).ConfigureAwait(false)).Spec.Ports[0].NodePort
            ?? throw new InvalidOperationException($"{probed} got no NodePort");

        // Only the probed Service has a backend; the others' listeners accept and find no node port behind them.
        using var backend = new GreetingBackend(new IPEndPoint(IPAddress.Parse(NodeIp), probedNodePort));
        await using var watch = await IngressWatch.StartAsync(cluster.Admin).ConfigureAwait(false);
        await using var lease = new LeaseWatch(cluster.Admin, election.Namespace, election.Name);

        var work = Directory.CreateTempSubdirectory("llb-real-failover-");
        var started = new List<DaemonProcess>();
        var running = new Dictionary<string, DaemonProcess>();
        var starts = 0;
        DaemonProcess Start(string identity)
        {
            var daemon = DaemonProcess.Start(dll, cluster.DaemonArguments(work.FullName, Pool, identity),
                Path.Combine(work.FullName, $"daemon-{++starts:D2}-{identity}.log"), Markers.All);
            started.Add(daemon);
            running[identity] = daemon;
            return daemon;
        }

        try
        {
            foreach (var identity in Identities)
            {
                Start(identity);
            }

            var first = await lease.WhenHeldAsync(StartLimit).ConfigureAwait(false);
            await watch.WhenCountAsync(services, StartLimit).ConfigureAwait(false);
            await running[Other(first)].WhenLoggedAfterAsync(Markers.SawLeader, 0, StartLimit).ConfigureAwait(false);
            var (all, seen, _) = await ListenerTable.WhenAllListeningAsync(Targets(watch), services, TimeSpan.FromMilliseconds(100), StartLimit).ConfigureAwait(false);
            if (all is null)
            {
                throw new InvalidOperationException($"only {seen} of {services} listeners after the first start");
            }

            await progress.WriteLineAsync($"   failover: {services} Services served by '{first}', '{Other(first)}' on standby; logs in {work.FullName}")
                .ConfigureAwait(false);
            var results = new List<RealFailoverRound>();
            for (var number = 1; number <= rounds + 1; number++)
            {
                var graceful = number == rounds + 1;
                var round = await RoundAsync(cluster, lease, watch, election, services, probed, number, graceful, running, Start).ConfigureAwait(false);
                results.Add(round);
                await progress.WriteLineAsync($"   failover {services}: round {number} ({(graceful ? "SIGTERM" : "SIGKILL")} to '{round.OldLeader}'): "
                    + $"Lease {round.LeaseMs:F0} ms, all listening {round.ListeningAllMs:F0} ms, ready {round.ReadyMs:F0} ms; "
                    + $"peak RSS leader {round.LeaderPeakRssKiB / 1024.0:F1} MiB, standby {round.StandbyPeakRssKiB / 1024.0:F1} MiB").ConfigureAwait(false);
            }

            return new RealFailoverResult(services, Pool, DistinctPorts, probed, election, lease.LeaseDurationSeconds, created, results,
                keepLogs ? work.FullName : string.Empty);
        }
        finally
        {
            foreach (var daemon in started)
            {
                daemon.Dispose();
            }

            if (!keepLogs)
            {
                work.Delete(recursive: true);
            }
        }
    }

    private static async Task<RealFailoverRound> RoundAsync(
        RealCluster cluster,
        LeaseWatch lease,
        IngressWatch watch,
        LeaderElectionOptions election,
        int services,
        string probed,
        int number,
        bool graceful,
        Dictionary<string, DaemonProcess> running,
        Func<string, DaemonProcess> start)
    {
        await Task.Delay(Settle + election.RetryPeriod * Random.Shared.NextDouble()).ConfigureAwait(false);
        var oldLeader = lease.Holder is { Length: > 0 } holder && running.ContainsKey(holder)
            ? holder
            : throw new InvalidOperationException($"round {number}: the Lease is held by '{lease.Holder}', not by a running replica");
        var newLeader = Other(oldLeader);
        var leader = running[oldLeader];
        var standby = running.TryGetValue(newLeader, out var waiting)
            ? waiting
            : throw new InvalidOperationException($"round {number}: no standby '{newLeader}' is running");
        var probedEndpoint = watch.Ingress.TryGetValue(probed, out var entry)
            ? new IPEndPoint(IPAddress.Parse(entry.Ip), entry.Port)
            : throw new InvalidOperationException($"{probed} has no ingress IP");
        var leaderPeak = ProcFs.StatusKiB(leader.Pid, "VmHWM") ?? 0;
        var standbyPeak = ProcFs.StatusKiB(standby.Pid, "VmHWM") ?? 0;

        var load = new MachineLoad();
        var ownCpu = new CpuMeter(Environment.ProcessId);
        var standbyCpu = new CpuMeter(standby.Pid);
        var (apiCpu, etcdCpu) = (new CpuMeter(cluster.ApiServerPid), new CpuMeter(cluster.EtcdPid));
        var t0 = leader.Signal(graceful ? DaemonProcess.SigTerm : DaemonProcess.SigKill);
        var exited = leader.WhenExitedAsync(StepLimit);
        var takingOver = Optional(standby.WhenLoggedAfterAsync(Markers.TakingOver, t0, StepLimit));
        var leading = Optional(standby.WhenLoggedAfterAsync(Markers.Leading, t0, StepLimit));
        var ready = Optional(standby.WhenLoggedAfterAsync(Markers.Ready, t0, StepLimit));
        // Not just "changed": a graceful leader may release the Lease (holder "") before the standby takes it.
        var leaseAt = await lease.WhenHolderAsync(newLeader, t0, StepLimit).ConfigureAwait(false);

        // From the Lease change on, a listener on a Service's IP:port is the new leader's: a killed leader's sockets
        // closed with its process, a stopped one closes them before it lets the Lease go.
        var listening = ListenerTable.WhenAllListeningAsync(Targets(watch), services, ListenerPoll, StepLimit);
        var serving = ProbeUntilServedAsync(probedEndpoint, StepLimit);
        var (listeningAt, seen, _) = await listening.ConfigureAwait(false);
        var servingAt = await serving.ConfigureAwait(false);
        var readyAt = await ready.ConfigureAwait(false);
        var exitedAt = await exited.ConfigureAwait(false);
        var others = load.OthersCores(ownCpu.Seconds() + standbyCpu.Seconds() + apiCpu.Seconds() + etcdCpu.Seconds());
        running.Remove(oldLeader);

        if (!graceful)
        {
            // Two replicas again before the next round; the restarted one comes up as the standby.
            var restarted = start(oldLeader);
            await restarted.WhenLoggedAfterAsync(Markers.CachesSynced, 0, StartLimit).ConfigureAwait(false);
            await restarted.WhenLoggedAfterAsync(Markers.SawLeader, 0, StartLimit).ConfigureAwait(false);
        }

        return new RealFailoverRound(
            number,
            graceful,
            oldLeader,
            newLeader,
            exitedAt is { } at ? RealScaleBenchmark.Ms(t0, at) : null,
            Since(t0, await takingOver.ConfigureAwait(false)),
            RealScaleBenchmark.Ms(t0, leaseAt),
            Since(t0, await leading.ConfigureAwait(false)),
            listeningAt is { } all ? RealScaleBenchmark.Ms(t0, all) : null,
            seen,
            servingAt is { } served ? RealScaleBenchmark.Ms(t0, served) : null,
            Since(t0, readyAt),
            leaderPeak,
            standbyPeak,
            others);
    }

    private static Func<IReadOnlyCollection<(uint Ip, int Port)>> Targets(IngressWatch watch)
    {
        IReadOnlyCollection<(uint Ip, int Port)>? targets = null;
        return () => targets ??= [.. watch.Ingress.Values.Select(entry => ListenerTable.Key(entry.Ip, entry.Port))];
    }

    private static string Other(string identity) => identity == Identities[0] ? Identities[1] : Identities[0];

    private static double? Since(long t0, long? at) => at is { } moment ? RealScaleBenchmark.Ms(t0, moment) : null;

    /// <summary>A log line that may not come (a standby that never saw the old holder expire logs no take-over).</summary>
    private static async Task<long?> Optional(Task<(long At, string Line)> logged)
    {
        try
        {
            return (await logged.ConfigureAwait(false)).At;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Connects, then reads until the backend's byte has come back through the listener, about every millisecond.</summary>
    private static Task<long?> ProbeUntilServedAsync(IPEndPoint endpoint, TimeSpan limit) => Task.Factory.StartNew(
        () =>
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 1000, SendTimeout = 1000 };
                try
                {
                    socket.Connect(endpoint);
                    var buffer = new byte[1];
                    if (socket.Receive(buffer) == 1 && buffer[0] == GreetingBackend.Greeting)
                    {
                        return (long?)Stopwatch.GetTimestamp();
                    }
                }
                catch (SocketException)
                {
                }

                Thread.Sleep(1);
            }

            return null;
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);
}
