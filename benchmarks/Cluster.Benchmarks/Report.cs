using System.Globalization;
using System.Text;
using static LoadBalancer.Cluster.Benchmarks.Distribution;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>The figures as the Markdown block that bench/cluster.sh puts into docs/benchmarks.md.</summary>
internal static class Report
{
    public static string Markdown(Machine machine, string command, DateTime startedUtc, string? shellOpenFiles, LatencyResult? latency, ScaleResult? scale)
    {
        var text = new StringBuilder();
        var source = machine.UncommittedFiles == 0
            ? $"commit {machine.Commit}"
            : $"commit {machine.Commit} plus uncommitted changes to {machine.UncommittedFiles} files under src/ and tests/FakeKubernetesApi/ (other work in progress)";
        Line(text, $"- **Run:** {startedUtc:yyyy-MM-dd HH:mm} UTC; command `{command}`; Release build, {source}.");
        Line(text, $"- **Machine:** {machine.Cores} cores, {machine.Cpu}, kernel {machine.Kernel}, {machine.Runtime}; load average "
            + $"{machine.LoadAverage} just before the run. The API server, the daemon and the client share these cores.");
        if (latency is not null)
        {
            Line(text);
            LatencyTable(text, latency);
        }

        if (scale is not null)
        {
            Line(text);
            ScaleTable(text, scale, shellOpenFiles);
        }

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
        Row(text, "reconcile done (daemon log \"Applied\", after the Allocated Event)", timings.Where(t => t.AppliedMs is not null).Select(t => t.AppliedMs!.Value));
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

    private static string ReadySummary(string line)
    {
        var at = line.IndexOf("Every Service reconciled: ", StringComparison.Ordinal);
        return at < 0 ? line : line[(at + "Every Service reconciled: ".Length)..];
    }

    private static void Cells(StringBuilder text, string label, IReadOnlyList<ScaleRun> runs, Func<ScaleRun, string> cell) =>
        Line(text, $"| {label} | " + string.Join(" | ", runs.Select(cell)) + " |");

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F0(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F1(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string MiB(long kib) => (kib / 1024.0).ToString("F1", CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, string line = "") => text.Append(line).Append('\n');
}
