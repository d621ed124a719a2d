using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Tests.FakeKubernetesApi;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>
/// One change of leader: each step in ms after the signal to the old leader was sent. <see cref="ServingMs"/> is the
/// first connection through the probed Service's IP:port that got the backend's byte back.
/// </summary>
internal sealed record FailoverRound(
    int Number,
    bool Graceful,
    string OldLeader,
    string NewLeader,
    double? ExitMs,
    int? ExitCode,
    double TakingOverMs,
    double LeaseMs,
    double LeadingMs,
    double RestoredMs,
    double FirstListenerMs,
    double ProbedListenerMs,
    double ReadyMs,
    double ServingMs,
    int ProbeAttempts,
    int StatusIpsChanged,
    int StatusPatches,
    int EventsRecorded,
    string ReadyLine,
    double OthersCores);

internal sealed record FailoverResult(
    int Services,
    string Pool,
    int ServicePort,
    string ProbedService,
    string ProbedIp,
    LeaderElectionOptions Election,
    int? LeaseDurationSeconds,
    TimeSpan Settle,
    IReadOnlyList<FailoverRound> Rounds);

/// <summary>
/// Two Release daemons as processes of their own against the fake API server, with leader election on: the leader is
/// killed (SIGKILL, then once SIGTERM) and the time until the standby holds the Lease, is ready and serves is measured.
/// After each crash the dead replica is started again, so that every round begins with a leader and a standby.
/// </summary>
internal static class FailoverBenchmark
{
    public const string Pool = "127.0.140.0/24";
    public const int ServicePort = 8080;
    private const string CachesSyncedMarker = "Caches synced:";
    private const string SawLeaderMarker = "The leader is now";
    private const string TakingOverMarker = "takes the Lease over";
    private const string LeadingMarker = "is now the leader";
    private const string RestoredMarker = "IPs from the record";
    private const string ListeningMarker = "Listening on";
    private const string ReadyMarker = "Every Service reconciled:";
    private const string ProbedService = "fo-000";

    /// <summary>The forwarding log names the Service of each listener: "Listening on IP:PORT (default/fo-000) …".</summary>
    private const string ProbedListenerMarker = "(default/" + ProbedService + ")";
    private static readonly string[] Identities = ["one", "two"];
    private static readonly string[] Markers =
        [CachesSyncedMarker, SawLeaderMarker, TakingOverMarker, LeadingMarker, RestoredMarker, ListeningMarker, ProbedListenerMarker, ReadyMarker];
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Quiet time before each signal: the restarted standby's start-up (JIT, first lists) is over, and the random part
    /// (up to one retry period) puts the crash at a different point of the renewal cycle each round.
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public static async Task<FailoverResult> RunAsync(int services, int rounds, string daemonDll, bool keepLogs, TextWriter progress)
    {
        var dll = daemonDll;

        var election = new LeaderElectionOptions();
        await using var api = await FakeApiServer.StartAsync().ConfigureAwait(false);
        using var backend = new GreetingBackend();
        api.PutNode(BenchObjects.WorkerNode("worker-1", "127.0.0.1"));

        // Every Service asks for the same port, so each takes an IP of its own; all forward to the one backend.
        var names = Enumerable.Range(0, services).Select(i => $"fo-{i:D3}").ToArray();
        foreach (var name in names)
        {
            api.PutService(BenchObjects.LoadBalancerService(name, ServicePort, backend.Port));
        }

        var work = Directory.CreateTempSubdirectory("llb-failover-bench-");
        var kubeconfig = Path.Combine(work.FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, ScaleBenchmark.Kubeconfig(api.BaseAddress)).ConfigureAwait(false);

        // Every process started here, live or dead, so that the finally below stops each one by its PID.
        var started = new List<DaemonProcess>();
        var running = new Dictionary<string, DaemonProcess>();
        var starts = 0;
        DaemonProcess Start(string identity)
        {
            string[] arguments = ["--kubeconfig", kubeconfig, "--restricted-cidr", Pool, "--no-announce", "--lease-identity", identity];
            var daemon = DaemonProcess.Start(dll, arguments, Path.Combine(work.FullName, $"daemon-{++starts:D2}-{identity}.log"), Markers);
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

            foreach (var daemon in running.Values)
            {
                await daemon.WhenLoggedAfterAsync(CachesSyncedMarker, 0, StartLimit).ConfigureAwait(false);
            }

            var first = await EventuallyAsync(() => Holder(api, election) is { Length: > 0 } holder ? holder : null, StepLimit).ConfigureAwait(false)
                ?? throw new InvalidOperationException("nobody took the Lease");
            await running[first].WhenLoggedAfterAsync(ReadyMarker, 0, StartLimit).ConfigureAwait(false);
            await running[Other(first)].WhenLoggedAfterAsync(SawLeaderMarker, 0, StepLimit).ConfigureAwait(false);
            _ = await EventuallyAsync(() => names.All(name => StatusIp(api, name) is not null) ? "all" : null, StepLimit).ConfigureAwait(false)
                ?? throw new InvalidOperationException("not every Service got a status IP");
            await progress.WriteLineAsync($"   failover: {services} services served by '{first}', '{Other(first)}' on standby; logs in {work.FullName}")
                .ConfigureAwait(false);

            var probed = ProbedService;
            var probedIp = IPAddress.Parse(StatusIp(api, probed)!);
            var results = new List<FailoverRound>();
            for (var number = 1; number <= rounds + 1; number++)
            {
                var graceful = number == rounds + 1;
                var round = await RoundAsync(api, election, names, probedIp, number, graceful, running, Start).ConfigureAwait(false);
                results.Add(round);
                await progress.WriteLineAsync($"   failover: round {number} ({(graceful ? "SIGTERM" : "SIGKILL")} to '{round.OldLeader}'): Lease "
                    + $"{round.LeaseMs:F0} ms, ready {round.ReadyMs:F0} ms, serving {round.ServingMs:F0} ms; {round.StatusIpsChanged} IPs changed, "
                    + $"{round.StatusPatches} status patches").ConfigureAwait(false);
            }

            var duration = api.GetLease(election.Namespace, election.Name)?.Spec?.LeaseDurationSeconds;
            return new FailoverResult(services, Pool, ServicePort, probed, probedIp.ToString(), election, duration, Settle, results);
        }
        finally
        {
            foreach (var daemon in started)
            {
                daemon.Dispose();
            }

            if (keepLogs)
            {
                await progress.WriteLineAsync($"   failover: logs kept in {work.FullName}").ConfigureAwait(false);
            }
            else
            {
                work.Delete(recursive: true);
            }
        }
    }

    private static async Task<FailoverRound> RoundAsync(
        FakeApiServer api,
        LeaderElectionOptions election,
        string[] names,
        IPAddress probedIp,
        int number,
        bool graceful,
        Dictionary<string, DaemonProcess> running,
        Func<string, DaemonProcess> start)
    {
        var oldLeader = Holder(api, election) is { Length: > 0 } holder && running.ContainsKey(holder)
            ? holder
            : throw new InvalidOperationException($"round {number}: the Lease is held by '{Holder(api, election)}', not by a running replica");
        var newLeader = Other(oldLeader);
        var leader = running[oldLeader];
        var standby = running.TryGetValue(newLeader, out var waiting)
            ? waiting
            : throw new InvalidOperationException($"round {number}: no standby '{newLeader}' is running");

        await Task.Delay(Settle + election.RetryPeriod * Random.Shared.NextDouble()).ConfigureAwait(false);
        if (await ProbeOnceAsync(probedIp) is not true)
        {
            throw new InvalidOperationException($"round {number}: {probedIp}:{ServicePort} does not answer through the leader '{oldLeader}'");
        }

        var ipsBefore = names.ToDictionary(name => name, name => StatusIp(api, name));
        int patchesBefore = api.StatusPatches.Count, eventsBefore = api.Events.Count;

        // Other processes' CPU from the signal to the end of the measurement: the standby's and this process's own are
        // subtracted; the old leader's after the signal cannot be read once it is gone (a SIGKILL leaves it none).
        var load = new MachineLoad();
        var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var standbyCpuBefore = ProcFs.CpuSeconds(standby.Pid) ?? 0;
        var t0 = leader.Signal(graceful ? DaemonProcess.SigTerm : DaemonProcess.SigKill);
        var exited = leader.WhenExitedAsync(StepLimit);
        var takingOver = standby.WhenLoggedAfterAsync(TakingOverMarker, t0, StepLimit);
        var leading = standby.WhenLoggedAfterAsync(LeadingMarker, t0, StepLimit);
        var restored = standby.WhenLoggedAfterAsync(RestoredMarker, t0, StepLimit);
        var firstListener = standby.WhenLoggedAfterAsync(ListeningMarker, t0, StepLimit);
        var probedListener = standby.WhenLoggedAfterAsync(ProbedListenerMarker, t0, StepLimit);
        var ready = standby.WhenLoggedAfterAsync(ReadyMarker, t0, StepLimit);
        var leaseAt = await PollAsync(() => Holder(api, election) == newLeader, StepLimit).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"round {number}: the Lease did not pass to '{newLeader}' within {StepLimit}");

        // Only once the standby holds the Lease: before that, a connect could still reach the old leader's listener
        // (a graceful leader stops listening before it releases the Lease; a killed one is gone well before).
        var (servingAt, attempts) = await ProbeUntilServedAsync(probedIp, StepLimit).ConfigureAwait(false);
        if (servingAt is null)
        {
            throw new InvalidOperationException($"round {number}: {probedIp}:{ServicePort} did not answer through '{newLeader}' within {StepLimit}");
        }

        var (readyAt, readyLine) = await ready.ConfigureAwait(false);
        var takingOverAt = (await takingOver.ConfigureAwait(false)).At;
        var leadingAt = (await leading.ConfigureAwait(false)).At;
        var restoredAt = (await restored.ConfigureAwait(false)).At;
        var firstListenerAt = (await firstListener.ConfigureAwait(false)).At;
        var probedListenerAt = (await probedListener.ConfigureAwait(false)).At;
        var exitedAt = await exited.ConfigureAwait(false);
        var others = load.OthersCores((Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore).TotalSeconds
            + ((ProcFs.CpuSeconds(standby.Pid) ?? standbyCpuBefore) - standbyCpuBefore));
        var exitCode = leader.ExitCode;
        running.Remove(oldLeader);

        if (!graceful)
        {
            // Two replicas again before the next round; the restarted one must come up as a standby.
            var restarted = start(oldLeader);
            var since = Stopwatch.GetTimestamp();
            await restarted.WhenLoggedAfterAsync(CachesSyncedMarker, since, StartLimit).ConfigureAwait(false);
            await restarted.WhenLoggedAfterAsync(SawLeaderMarker, since, StepLimit).ConfigureAwait(false);
        }

        var changed = names.Count(name => StatusIp(api, name) != ipsBefore[name]);
        return new FailoverRound(
            number,
            graceful,
            oldLeader,
            newLeader,
            exitedAt is { } at ? Ms(t0, at) : null,
            exitCode,
            Ms(t0, takingOverAt),
            Ms(t0, leaseAt),
            Ms(t0, leadingAt),
            Ms(t0, restoredAt),
            Ms(t0, firstListenerAt),
            Ms(t0, probedListenerAt),
            Ms(t0, readyAt),
            Ms(t0, servingAt.Value),
            attempts,
            changed,
            api.StatusPatches.Count - patchesBefore,
            api.Events.Count - eventsBefore,
            readyLine,
            others);
    }

    private static string Other(string identity) => identity == Identities[0] ? Identities[1] : Identities[0];

    private static string? Holder(FakeApiServer api, LeaderElectionOptions election) =>
        api.GetLease(election.Namespace, election.Name)?.Spec?.HolderIdentity;

    private static string? StatusIp(FakeApiServer api, string name) => BenchObjects.IngressIp(api.GetService("default", name));

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    /// <summary>Checks <paramref name="condition"/> about every millisecond on its own thread; the moment it first held.</summary>
    private static Task<long?> PollAsync(Func<bool> condition, TimeSpan limit) => Task.Factory.StartNew(
        () =>
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                if (condition())
                {
                    return Stopwatch.GetTimestamp();
                }

                Thread.Sleep(1);
            }

            return (long?)null;
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);

    private static async Task<string?> EventuallyAsync(Func<string?> probe, TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (probe() is { } found)
            {
                return found;
            }

            await Task.Delay(10).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Connects, then reads until the backend's byte has come back through the listener, about every millisecond.</summary>
    private static Task<(long? At, int Attempts)> ProbeUntilServedAsync(IPAddress ip, TimeSpan limit) => Task.Factory.StartNew(
        () =>
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
            var attempts = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                attempts++;
                if (TryOnce(ip))
                {
                    return ((long?)Stopwatch.GetTimestamp(), attempts);
                }

                Thread.Sleep(1);
            }

            return (null, attempts);
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);

    private static Task<bool> ProbeOnceAsync(IPAddress ip) => Task.Run(() => TryOnce(ip));

    private static bool TryOnce(IPAddress ip)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)ProbeTimeout.TotalMilliseconds,
            SendTimeout = (int)ProbeTimeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(ip, ServicePort);
            var buffer = new byte[1];
            return socket.Receive(buffer) == 1 && buffer[0] == GreetingBackend.Greeting;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
