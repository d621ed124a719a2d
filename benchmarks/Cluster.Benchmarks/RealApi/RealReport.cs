using System.Globalization;
using System.Text;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>
/// The real-API-server figures as the Markdown blocks bench/cluster.sh --api real puts into docs/benchmarks.md, each
/// figure with what it means and, where the team set one, its goal and whether this run met it.
/// </summary>
internal static class RealReport
{
    private const string Setup = "etcd and kube-apiserver 1.26 on loopback ports (no controller manager, scheduler or kubelet: "
        + "the benchmark registers the Nodes), NodePort range widened to " + RealCluster.NodePortRange + "; the Release daemon as its own "
        + "process (`dotnet loadbalancer.dll --kubeconfig … --no-announce --backends nodeports --lease-identity …`, leader election on, the "
        + "admin token: RBAC is the end-to-end tests' concern)";

    public static string Scale(Machine machine, string command, DateTime startedUtc, RealScaleResult result) =>
        Block(machine, command, startedUtc, text => ScaleTable(text, result));

    public static string Failover(Machine machine, string command, DateTime startedUtc, IReadOnlyList<RealFailoverResult> results) =>
        Block(machine, command, startedUtc, text =>
        {
            FailoverSummary(text, results);
            foreach (var result in results)
            {
                Line(text);
                FailoverRounds(text, result);
            }

            FailoverNotes(text, results[0]);
        });

    public static string Latency(Machine machine, string command, DateTime startedUtc, RealLatencyResult result) =>
        Block(machine, command, startedUtc, text => LatencyTable(text, result));

    private static string Block(Machine machine, string command, DateTime startedUtc, Action<StringBuilder> table)
    {
        var text = new StringBuilder();
        var source = machine.UncommittedFiles == 0
            ? $"commit {machine.Commit}"
            : $"commit {machine.Commit} plus uncommitted changes to {machine.UncommittedFiles} files under src/ and tests/FakeKubernetesApi/";
        Line(text, $"- **Run:** {startedUtc:yyyy-MM-dd HH:mm} UTC; command `{command}`; Release build, {source}; **real API server**.");
        Line(text, $"- **Machine:** {machine.Cores} cores, {machine.Cpu}, kernel {machine.Kernel}, {machine.Runtime}; load average "
            + $"{machine.LoadAverage} just before the run. etcd, the API server, the daemons and the benchmark share these cores.");
        Line(text);
        table(text);
        return text.ToString().TrimEnd('\n');
    }

    private static void ScaleTable(StringBuilder text, RealScaleResult result)
    {
        var (cold, restart) = (result.Cold, result.Restart);
        Line(text, $"**{result.Services:N0} Services, cold start and restart, real API server** ({Setup}; pool {result.Pool}; one TCP port each, "
            + $"{RealScaleBenchmark.FirstPort}–{RealScaleBenchmark.FirstPort + Math.Min(result.Services, result.DistinctPorts) - 1}, "
            + (result.Services > result.DistinctPorts ? $"{result.DistinctPorts:N0} Services per IP" : "all on one IP")
            + $"; {result.Nodes} Ready worker Nodes). The Services were created first ({result.Services:N0} in "
            + $"{result.CreateTime.TotalSeconds:F1} s, 32 at a time), then the daemon started. *Cold*: no Service has an IP. *Restart*: the "
            + "same identity after SIGKILL, every status already written, its own Lease still naming it. Milliseconds after the "
            + "daemon's process was started:");
        Line(text);
        Line(text, "| figure | cold | restart | goal |");
        Line(text, "|---|---:|---:|---|");
        Line(text, $"| start → caches synced (log \"Caches synced\") | {Opt(cold.CachesSyncedMs)} | {Opt(restart.CachesSyncedMs)} | |");
        Line(text, $"| start → leader (log \"is now the leader\") | {Opt(cold.LeaderMs)} | {Opt(restart.LeaderMs)} | |");
        Line(text, $"| **start → every Service's status.loadBalancer.ingress written** (seen by another watch) | **{Opt(cold.IngressAllMs)}** | "
            + $"{(restart.IngressAllMs is null ? "already written" : Opt(restart.IngressAllMs))} | cold ≤ 15,000 {Verdict(cold.IngressAllMs, 15_000)} |");
        Line(text, $"| **start → every listener accepting** (its IP:port in LISTEN in /proc/net/tcp) | **{Opt(cold.ListeningAllMs)}** | "
            + $"**{Opt(restart.ListeningAllMs)}** | cold ≤ 15,000 {Verdict(cold.ListeningAllMs, 15_000)}; restart ≤ 4,000 {Verdict(restart.ListeningAllMs, 4_000)} |");
        Line(text, $"| start → ready (log \"Every Service reconciled\") | {Opt(cold.ReadyMs)} | {Opt(restart.ReadyMs)} | |");
        Line(text, $"| SIGKILL → restarted daemon has every listener accepting | | {Opt(result.KillToListeningAllMs)} | |");
        Line(text, $"| the ready line says | “{Summary(cold.ReadyLine)}” | “{Summary(restart.ReadyLine)}” | |");
        Line(text, $"| daemon CPU, start → all served (user + system), s | {F2(cold.DaemonCpuSeconds)} | {F2(restart.DaemonCpuSeconds)} | |");
        Line(text, $"| kube-apiserver CPU meanwhile, s | {F2(cold.ApiServerCpuSeconds)} | {F2(restart.ApiServerCpuSeconds)} | |");
        Line(text, $"| etcd CPU meanwhile, s | {F2(cold.EtcdCpuSeconds)} | {F2(restart.EtcdCpuSeconds)} | |");
        Line(text, $"| other processes' CPU meanwhile, cores (noise; 0 is a quiet machine) | {F2(cold.OthersCores)} | {F2(restart.OthersCores)} | |");
        Line(text, $"| **peak RSS** (VmHWM once all served), MiB | **{MiB(cold.PeakRssKiB)}** | {MiB(restart.PeakRssKiB)} | leader ≤ 120 {Verdict(cold.PeakRssKiB / 1024.0, 120)} |");
        Line(text, $"| RSS once all served, MiB | {MiB(cold.RssKiB)} | {MiB(restart.RssKiB)} | |");
        Line(text, $"| log written until all served: lines / bytes | {cold.LogLines:N0} / {cold.LogBytes:N0} | {restart.LogLines:N0} / {restart.LogBytes:N0} | |");
        Line(text, $"| CPU while settling: the first 30 s after all served (Events written in the background, first health-check rounds), cores | {result.SettleCores.ToString("F3", CultureInfo.InvariantCulture)} | | |");
        Line(text, $"| **idle CPU**, over the {result.IdleSeconds:F0} s after that, nothing changing, cores | **{result.IdleCores.ToString("F3", CultureInfo.InvariantCulture)}** | | "
            + $"≤ 0.05 {Verdict(result.IdleCores, 0.05)} |");
        Line(text, $"| listeners that accepted a connection (one connect each, after the idle time) | {result.Accepting:N0} of {result.Services:N0} | | |");
        Line(text, $"| SIGTERM → exit (restarted daemon), ms | | {Opt(result.ShutdownMs)} (exit code {result.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "–"}) | |");
        Line(text);
        Line(text, "Timed on the benchmark's clock from the moment it started the daemon's process (.NET start-up and JIT included). "
            + "Ingress: the benchmark's own list-then-watch of Services, so the API server's fan-out is included. Listeners: /proc/net/tcp, "
            + "read every 50 ms for the IP:port of each Service whose status names its IP (a socket in LISTEN completes handshakes; reading "
            + "the table spares the daemon 5,000 probe connections while it starts). CPU: /proc/PID/stat of the daemon, kube-apiserver and "
            + "etcd, from the start until the last of ingress, listeners and the ready line. ✅/❌: this run against the team's goal.");
    }

    private static void FailoverSummary(StringBuilder text, IReadOnlyList<RealFailoverResult> results)
    {
        var election = results[0].Election;
        Line(text, $"**Leader killed → standby serving, real API server** ({Setup}; two daemons, `--lease-identity one|two`, one Lease with the shipped "
            + $"settings: duration {Seconds(election.LeaseDuration)} s, renew deadline {Seconds(election.RenewDeadline)} s, retry period "
            + $"{Seconds(election.RetryPeriod)} s; pool {results[0].Pool}, one TCP port each from {RealScaleBenchmark.FirstPort}, 1,000 Services per IP). "
            + "Per N: SIGKILL to the leader, several rounds (the dead replica is started again as the standby after each), then one SIGTERM "
            + "to the leader. Milliseconds after the signal was sent; SIGKILL as worst (max) of the rounds:");
        Line(text);
        Line(text, "| Services | SIGKILL → Lease names the standby, max | **SIGKILL → standby has every listener accepting**, p50 / max | goal | "
            + "SIGTERM → Lease | **SIGTERM → every listener accepting** | goal | **peak RSS leader / standby**, MiB | goal |");
        Line(text, "|---:|---:|---:|---|---:|---:|---|---:|---|");
        foreach (var result in results)
        {
            var crashes = result.Rounds.Where(round => !round.Graceful).ToList();
            var graceful = result.Rounds.FirstOrDefault(round => round.Graceful);
            var listening = new Distribution(crashes.Select(round => round.ListeningAllMs ?? double.PositiveInfinity));
            var killGoal = result.Services <= 100 ? 2_500 : 3_000;
            var leaderPeak = result.Rounds.Max(round => round.LeaderPeakRssKiB) / 1024.0;
            var standbyPeak = result.Rounds.Max(round => round.StandbyPeakRssKiB) / 1024.0;
            Line(text, $"| {result.Services:N0} | {F0(crashes.Count == 0 ? double.NaN : crashes.Max(round => round.LeaseMs))} | "
                + $"**{F0(listening.Percentile(50))} / {F0(listening.Max)}** | ≤ {killGoal:N0} {Verdict(listening.Max, killGoal)} | "
                + $"{F0(graceful?.LeaseMs ?? double.NaN)} | **{Opt(graceful?.ListeningAllMs)}** | ≤ 500 {Verdict(graceful?.ListeningAllMs, 500)} | "
                + $"**{F1(leaderPeak)} / {F1(standbyPeak)}** | ≤ 120 {Verdict(leaderPeak, 120)} / ≤ 80 {Verdict(standbyPeak, 80)} |");
        }
    }

    private static void FailoverRounds(StringBuilder text, RealFailoverResult result)
    {
        Line(text, $"{result.Services:N0} Services (created in {result.CreateTime.TotalSeconds:F1} s), each round:");
        Line(text);
        Line(text, "| round | signal | from → to | old leader exited | standby takes over (log) | **Lease names the standby** | standby leads (log) | "
            + $"**every listener accepting** | {result.ProbedService} answers (backend's byte) | ready (log) | peak RSS leader / standby, MiB | other processes, cores |");
        Line(text, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var round in result.Rounds)
        {
            var listening = round.ListeningAllMs is null ? $"{round.ListeningSeen:N0} of {result.Services:N0} in 60 s" : F0(round.ListeningAllMs.Value);
            Line(text, $"| {round.Number} | {(round.Graceful ? "SIGTERM" : "SIGKILL")} | {round.OldLeader} → {round.NewLeader} | {Opt(round.ExitMs)} | "
                + $"{Opt(round.TakingOverMs)} | **{F0(round.LeaseMs)}** | {Opt(round.LeadingMs)} | **{listening}** | {Opt(round.ServingMs)} | {Opt(round.ReadyMs)} | "
                + $"{MiB(round.LeaderPeakRssKiB)} / {MiB(round.StandbyPeakRssKiB)} | {F2(round.OthersCores)} |");
        }
    }

    private static void FailoverNotes(StringBuilder text, RealFailoverResult result)
    {
        Line(text);
        Line(text, "Each round starts 2 s plus a random part of one retry period after the previous one ended. The Lease is watched (the "
            + "moment the API server's watch delivered the new holder). Listeners: /proc/net/tcp read every 10 ms from the moment the Lease "
            + "names the standby (before that, a listener could still be the old leader's) until every Service's IP:port is in LISTEN. "
            + $"Only {result.ProbedService} has a backend (on its NodePort at {RealFailoverBenchmark.NodeIp}); its column is the first "
            + "connect-and-read through the standby. Peak RSS: VmHWM of the leader and of the standby just before the signal (the "
            + "standby has never led, except in round 1 where it is the first start's second replica). *Other processes*: CPU of the "
            + "rest of the machine (not the standby, etcd, the API server or the benchmark; the old leader's last moments are in it) "
            + "from the signal to the end of the round.");
    }

    private static void LatencyTable(StringBuilder text, RealLatencyResult result)
    {
        var timings = result.Timings;
        Line(text, $"**Service created → served while {result.Background:N0} others are served, real API server** ({Setup}; the "
            + $"{result.Background:N0} Services share a few IPs of {result.Pool}, the daemon had served them {F0(result.BackgroundReadyMs)} ms after its start; "
            + $"then {result.Services} Services created one at a time after {result.Warmup} warm-up ones that are not counted, each on TCP "
            + $"{result.ServicePort}, so each takes a new IP). Milliseconds after the create request was sent:");
        Line(text);
        Line(text, "| step | p50 | p90 | p99 | max | mean | goal |");
        Line(text, "|---|---:|---:|---:|---:|---:|---|");
        Row(text, "create answered (the API server stored it)", timings.Select(t => t.CreatedMs));
        Row(text, "ADDED reaches another watch (the benchmark's)", timings.Where(t => t.WatchedMs is not null).Select(t => t.WatchedMs!.Value));
        Row(text, "**listener accepting** (client connect succeeds)", timings.Select(t => t.AcceptMs));
        var ingress = new Distribution(timings.Select(t => t.IngressMs));
        Row(text, "**status.loadBalancer.ingress written** (seen by the benchmark's watch)", timings.Select(t => t.IngressMs),
            $"p99 ≤ 25 {Verdict(ingress.Percentile(99), 25)}");
        var fromEvent = timings.Where(t => t.WatchedMs is not null).Select(t => t.IngressMs - t.WatchedMs!.Value).ToList();
        Row(text, "ADDED at another watch → ingress written there (the create's own round trip left out)", fromEvent,
            $"p99 ≤ 25 {Verdict(new Distribution(fromEvent).Percentile(99), 25)}");
        Row(text, "ingress written − listener accepting", timings.Select(t => t.IngressMs - t.AcceptMs));
        Line(text);
        Line(text, $"Other processes (not the daemon, etcd, the API server or the benchmark) took {F2(result.OthersCores)} cores on average "
            + "meanwhile (noise; 0 is a quiet machine). Percentiles by nearest "
            + $"rank over {timings.Count} Services; 50 ms pause between two. The client connects every {result.PollInterval.TotalMilliseconds:F0} ms "
            + $"from the create on, to the IP the allocator hands out next; that guess was right for {timings.Count(t => t.PolledPredictedIp)} of "
            + $"{timings.Count} (the others were polled once the status named their IP).");
    }

    private static void Row(StringBuilder text, string label, IEnumerable<double> values, string goal = "")
    {
        var d = new Distribution(values);
        Line(text, $"| {label} | {Distribution.Ms(d.Percentile(50))} | {Distribution.Ms(d.Percentile(90))} | {Distribution.Ms(d.Percentile(99))} | "
            + $"{Distribution.Ms(d.Max)} | {Distribution.Ms(d.Mean)} | {goal} |");
    }

    private static string Verdict(double? value, double goal) =>
        value is { } v && !double.IsNaN(v) ? (v <= goal ? "✅" : "❌") : "–";

    private static string Summary(string line)
    {
        var at = line.IndexOf(Markers.Ready, StringComparison.Ordinal);
        return at < 0 ? line : line[(at + Markers.Ready.Length)..].Trim();
    }

    private static string Opt(double? ms) => ms is { } value ? F0(value) : "–";

    private static string F0(double value) => double.IsNaN(value) || double.IsInfinity(value) ? "–" : value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F1(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string F2(double value) => double.IsNaN(value) ? "–" : value.ToString("F2", CultureInfo.InvariantCulture);

    private static string MiB(long kib) => (kib / 1024.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, string line = "") => text.Append(line).Append('\n');
}
