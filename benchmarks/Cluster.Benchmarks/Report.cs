using System.Globalization;
using System.Text;
using static LoadBalancer.Cluster.Benchmarks.Distribution;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>The figures as the Markdown block that bench/cluster.sh puts into docs/benchmarks.md.</summary>
internal static class Report
{
    public static string Latency(Machine machine, string command, DateTime startedUtc, LatencyResult result) =>
        Block(machine, command, startedUtc, text => LatencyTable(text, result));

    public static string Scale(Machine machine, string command, DateTime startedUtc, ScaleResult result, string? shellOpenFiles) =>
        Block(machine, command, startedUtc, text => ScaleTable(text, result, shellOpenFiles));

    public static string Failover(Machine machine, string command, DateTime startedUtc, FailoverResult result) =>
        Block(machine, command, startedUtc, text => FailoverTable(text, result));

    /// <summary>One scenario's block: its own run and machine lines, so that each can be rewritten without the others.</summary>
    private static string Block(Machine machine, string command, DateTime startedUtc, Action<StringBuilder> table)
    {
        var text = new StringBuilder();
        var source = machine.UncommittedFiles == 0
            ? $"commit {machine.Commit}"
            : $"commit {machine.Commit} plus uncommitted changes to {machine.UncommittedFiles} files under src/ and tests/FakeKubernetesApi/ (other work in progress)";
        Line(text, $"- **Run:** {startedUtc:yyyy-MM-dd HH:mm} UTC; command `{command}`; Release build, {source}.");
        Line(text, $"- **Machine:** {machine.Cores} cores, {machine.Cpu}, kernel {machine.Kernel}, {machine.Runtime}; load average "
            + $"{machine.LoadAverage} just before the run. The API server, the daemon and the client share these cores.");
        Line(text);
        table(text);
        return text.ToString().TrimEnd('\n');
    }

    private static void LatencyTable(StringBuilder text, LatencyResult result)
    {
        var timings = result.Timings;
        var predicted = timings.Count(timing => timing.PolledPredictedIp);
        Line(text, $"**Service ADDED → served** ({result.Services} Services added one at a time to a ready daemon, after {result.Warmup} "
            + $"warm-up Services that are not counted; each asks for TCP {result.ServicePort}, so each takes a new IP of {result.Pool}; "
            + "in-process daemon, no leader election). Milliseconds after the Service was put into the API server:");
        Line(text);
        Line(text, "| step | p50 | p90 | p99 | max | mean |");
        Line(text, "|---|---:|---:|---:|---:|---:|");
        Row(text, "ADDED reaches a second watch (another client, in the benchmark)", timings.Where(t => t.WatchedMs is not null).Select(t => t.WatchedMs!.Value));
        Row(text, "listener started (daemon log \"Listening on\")", timings.Where(t => t.ListeningMs is not null).Select(t => t.ListeningMs!.Value));
        Row(text, "**listener accepting** (client connect succeeds)", timings.Select(t => t.AcceptMs));
        Row(text, "**status written** (API server has applied the status patch)", timings.Select(t => t.StatusMs));
        Row(text, "state applied (daemon log \"Applied\": listener up; status and Event are written after it, outside the lock)", timings.Where(t => t.AppliedMs is not null).Select(t => t.AppliedMs!.Value));
        Row(text, "status written − listener accepting", timings.Select(t => t.StatusMs - t.AcceptMs));
        Line(text);
        Line(text, $"Other processes took {result.OthersCores:F2} cores on average during these {timings.Count} Services (noise; 0 is a quiet machine).");
        Line(text);
        Line(text, $"Percentiles by nearest rank over {timings.Count} Services. The client connects every "
            + $"{result.PollInterval.TotalMilliseconds:F0} ms (plus the sleep's overshoot) from the moment the Service is put, to the IP "
            + $"the allocator hands out next; that guess was right for {predicted} of {timings.Count} Services (the others were polled "
            + "once the status named their IP).");
    }

    private static void Row(StringBuilder text, string label, IEnumerable<double> values)
    {
        var d = new Distribution(values);
        Line(text, $"| {label} | {Ms(d.Percentile(50))} | {Ms(d.Percentile(90))} | {Ms(d.Percentile(99))} | {Ms(d.Max)} | {Ms(d.Mean)} |");
    }

    private static void ScaleTable(StringBuilder text, ScaleResult result, string? shellOpenFiles)
    {
        var runs = result.Runs;
        var sharing = result.Services > result.DistinctPorts
            ? $"{result.Services / result.DistinctPorts} Services per port, so Services share IPs"
            : "one Service per port, all on one IP";
        Line(text, $"**{result.Services:N0} Services, start to ready** (the Release daemon as its own process: `dotnet loadbalancer.dll "
            + $"--kubeconfig … --restricted-cidr {result.Pool} --no-announce{(result.LeaderElection ? string.Empty : " --no-leader-election")}`, "
            + $"{(result.LeaderElection ? "with" : "without")} leader election; one TCP port each, {ScaleBenchmark.FirstPort}–"
            + $"{ScaleBenchmark.FirstPort + result.DistinctPorts - 1}, {sharing}; {result.Nodes} worker nodes). *Cold*: no Service has an "
            + "IP yet. *Restart*: the same API server, every Service carrying the IP the cold run wrote.");
        Line(text);
        Line(text, "| | " + string.Join(" | ", runs.Select(run => run.Name)) + " |");
        Line(text, "|---|" + string.Join("|", runs.Select(_ => "---:")) + "|");
        Cells(text, "Services with a status IP at start", runs, run => N(run.ServicesWithStatusBefore));
        Cells(text, "start → caches synced (log \"Caches synced\"), ms", runs, run => F0(run.CachesSyncedMs));
        if (runs.Any(run => run.LeaderMs is not null))
        {
            Cells(text, "start → leader (log \"is now the leader\"), ms", runs, run => run.LeaderMs is { } ms ? F0(ms) : "–");
        }

        Cells(text, "**start → ready** (log \"Every Service reconciled\"), ms", runs, run => "**" + F0(run.ReadyMs) + "**");
        Cells(text, "the ready line says", runs, run => "“" + ReadySummary(run.ReadyLine) + "”");
        Cells(text, "daemon CPU to ready (user + system), s", runs, run => F1(run.DaemonCpuSecondsToReady));
        Cells(text, "fake API server CPU meanwhile, s", runs, run => F1(run.ApiServerCpuSecondsToReady));
        Cells(text, "other processes' CPU meanwhile, cores (noise)", runs, run => run.OthersCores.ToString("F2", CultureInfo.InvariantCulture));
        Cells(text, "RSS at ready, MiB", runs, run => MiB(run.RssAtReadyKiB));
        Cells(text, "**peak RSS** (VmHWM, read 3 s after ready), MiB", runs, run => "**" + MiB(run.PeakRssKiB) + "**");
        Cells(text, "RSS 3 s after ready (anonymous + file + shared), MiB", runs,
            run => $"{MiB(run.RssAfterSettleKiB)} ({MiB(run.RssAnonKiB)} + {MiB(run.RssFileKiB)} + {MiB(run.RssShmemKiB)})");
        Cells(text, "threads / open file descriptors", runs, run => $"{run.Threads} / {N(run.OpenFiles)}");
        Cells(text, "status patches written (by ready / in all)", runs, run => $"{N(run.StatusPatchesAtReady)} / {N(run.StatusPatches)}");
        Cells(text, "Events recorded", runs, run => N(run.EventsRecorded));
        Cells(text, "list requests (pages of Services, Nodes, EndpointSlices)", runs, run => N(run.ListRequests));
        Cells(text, "sampled listeners accepting", runs, run => $"{run.SampledAccepting} of {run.Sampled}");
        Cells(text, "SIGTERM → exit, ms", runs, run => run.ShutdownMs is { } ms ? F0(ms) : "did not exit in 3 min (killed)");
        Cells(text, "exit code", runs, run => run.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "–");
        Line(text);
        var limit = result.DaemonOpenFilesLimit is { } daemon ? $"soft {daemon.Soft}, hard {daemon.Hard}" : "unknown";
        var own = result.OwnOpenFilesLimit is { } mine ? $"soft {mine.Soft}, hard {mine.Hard}" : "unknown";
        var shell = shellOpenFiles is null ? string.Empty : $" from a shell whose `ulimit -n` / `ulimit -Hn` were {shellOpenFiles}";
        Line(text, $"Open files: the daemon, started{shell}, ran with {limit} (`/proc/PID/limits`); the benchmark process had {own}.");
    }

    private static void FailoverTable(StringBuilder text, FailoverResult result)
    {
        var crashes = result.Rounds.Where(round => !round.Graceful).ToList();
        var graceful = result.Rounds.FirstOrDefault(round => round.Graceful);
        var election = result.Election;
        Line(text, $"**Leader crash → standby serving** (two Release daemons as processes of their own, `dotnet loadbalancer.dll --kubeconfig … "
            + $"--restricted-cidr {result.Pool} --no-announce --lease-identity one|two`, leader election with the shipped Lease settings: "
            + $"duration {Seconds(election.LeaseDuration)} s, renew deadline {Seconds(election.RenewDeadline)} s, retry period "
            + $"{Seconds(election.RetryPeriod)} s (the Lease says leaseDurationSeconds {result.LeaseDurationSeconds?.ToString(CultureInfo.InvariantCulture) ?? "?"}); "
            + $"{result.Services} Services on TCP {result.ServicePort}, one IP each, all forwarding to one backend that writes a byte). "
            + $"{crashes.Count} rounds of SIGKILL to the leader (the dead replica is started again after each), then one SIGTERM. "
            + "Milliseconds after the signal was sent:");
        Line(text);
        Line(text, "| step | SIGKILL min | p50 | max | SIGTERM |");
        Line(text, "|---|---:|---:|---:|---:|");
        FailoverRow(text, "old leader's process has exited", crashes, graceful, round => round.ExitMs);
        FailoverRow(text, "standby decides to take over (log \"takes the Lease over\")", crashes, graceful, round => round.TakingOverMs);
        FailoverRow(text, "**Lease holder is the standby** (read in the API server)", crashes, graceful, round => round.LeaseMs);
        FailoverRow(text, "standby leads (log \"is now the leader\")", crashes, graceful, round => round.LeadingMs);
        FailoverRow(text, "standby has restored the IPs from the status (log \"Restored … IPs\")", crashes, graceful, round => round.RestoredMs);
        FailoverRow(text, "standby's first listener (log \"Listening on\")", crashes, graceful, round => round.FirstListenerMs);
        FailoverRow(text, $"standby's listener for {result.ProbedService} (log \"Listening on {result.ProbedIp}:{result.ServicePort}\")", crashes, graceful,
            round => round.ProbedListenerMs);
        FailoverRow(text, $"**{result.ProbedService} ({result.ProbedIp}:{result.ServicePort}) answers through the standby** (connect, backend's byte read)",
            crashes, graceful, round => round.ServingMs);
        FailoverRow(text, "**standby ready** (log \"Every Service reconciled\")", crashes, graceful, round => round.ReadyMs);
        FailoverRow(text, $"{result.ProbedService} answering − Lease holder changed", crashes, graceful, round => round.ServingMs - round.LeaseMs);
        Line(text);
        Line(text, "| round | signal | from → to | Lease, ms | ready, ms | serving, ms | status IPs changed | status patches | Events | exit code | "
            + "the ready line says | other processes, cores |");
        Line(text, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var round in result.Rounds)
        {
            Line(text, $"| {round.Number} | {(round.Graceful ? "SIGTERM" : "SIGKILL")} | {round.OldLeader} → {round.NewLeader} | {F0(round.LeaseMs)} | "
                + $"{F0(round.ReadyMs)} | {F0(round.ServingMs)} | {round.StatusIpsChanged} of {result.Services} | {round.StatusPatches} | "
                + $"{round.EventsRecorded} | {round.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "–"} | “{ReadySummary(round.ReadyLine)}” | "
                + $"{round.OthersCores.ToString("F2", CultureInfo.InvariantCulture)} |");
        }

        Line(text);
        Line(text, $"Each round starts {Seconds(result.Settle)} s plus a random part of one retry period after the previous one ended (so the "
            + "signal falls at a different point of the renewal cycle), once a probe has been answered through the leader. Steps are "
            + "timed on the benchmark's clock: log lines when they arrive on the daemon's standard error, the Lease by reading it "
            + "every millisecond, the Service by a connect-and-read every millisecond that starts once the Lease has changed hands "
            + "(before that, a connect could reach the old leader). Status patches and Events are counted from the signal until the "
            + "restarted replica has synced its caches and seen the new leader. *Other processes*: CPU the rest of the machine "
            + "took from the signal to the end of the measurement (noise; 0 is a quiet machine, 2 would be every core).");
    }

    private static void FailoverRow(StringBuilder text, string label, IReadOnlyList<FailoverRound> crashes, FailoverRound? graceful, Func<FailoverRound, double?> step)
    {
        var d = new Distribution(crashes.Select(step).Where(ms => ms is not null).Select(ms => ms!.Value));
        var last = graceful is not null && step(graceful) is { } ms ? F0(ms) : "–";
        Line(text, $"| {label} | {F0(d.Min)} | {F0(d.Percentile(50))} | {F0(d.Max)} | {last} |");
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string ReadySummary(string line)
    {
        var at = line.IndexOf("Every Service reconciled: ", StringComparison.Ordinal);
        return at < 0 ? line : line[(at + "Every Service reconciled: ".Length)..];
    }

    private static void Cells(StringBuilder text, string label, IReadOnlyList<ScaleRun> runs, Func<ScaleRun, string> cell) =>
        Line(text, $"| {label} | " + string.Join(" | ", runs.Select(cell)) + " |");

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F0(double value) => double.IsNaN(value) ? "–" : value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F1(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string MiB(long kib) => (kib / 1024.0).ToString("F1", CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, string line = "") => text.Append(line).Append('\n');
}
