using System.Diagnostics;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>One start of the daemon against the real API server, up to every Service served.</summary>
internal sealed record RealStart(
    string Name,
    double? CachesSyncedMs,
    double? LeaderMs,
    double? IngressAllMs,
    double? ListeningAllMs,
    int ListeningSeen,
    double? ReadyMs,
    string ReadyLine,
    double DaemonCpuSeconds,
    double ApiServerCpuSeconds,
    double EtcdCpuSeconds,
    long PeakRssKiB,
    long RssKiB,
    int LogLines,
    long LogBytes,
    double OthersCores);

internal sealed record RealScaleResult(
    int Services,
    int DistinctPorts,
    string Pool,
    int Nodes,
    TimeSpan CreateTime,
    RealStart Cold,
    double SettleCores,
    double IdleSeconds,
    double IdleCores,
    int Accepting,
    double KillToExitMs,
    RealStart Restart,
    double KillToListeningAllMs,
    double? ShutdownMs,
    int? ExitCode,
    string LogFolder);

/// <summary>
/// The Release daemon (leader election on) against the real API server that already holds many Services: a cold start
/// to every status written and every listener accepting, its cost, its idle CPU, then a SIGKILL and a restart of the
/// same identity (which resumes its own Lease).
/// </summary>
internal static class RealScaleBenchmark
{
    public const string Pool = "127.0.133.0/24";
    public const int DistinctPorts = 1000;
    public const int FirstPort = 20000;
    public static readonly string[] NodeIps = ["127.0.135.1", "127.0.135.2", "127.0.135.3"];
    private const string Identity = "scale";
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ListenerPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>How long after all is served the start's tail is let pass before the idle time is measured.</summary>
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(30);

    /// <summary>The cores process <paramref name="pid"/> used, on average, over the next <paramref name="window"/>.</summary>
    private static async Task<double> CoresOverAsync(int pid, TimeSpan window)
    {
        var cpu = new CpuMeter(pid);
        var from = Stopwatch.GetTimestamp();
        await Task.Delay(window).ConfigureAwait(false);
        return cpu.Seconds() / Stopwatch.GetElapsedTime(from).TotalSeconds;
    }

    public static async Task<RealScaleResult> RunAsync(int services, string dll, TimeSpan idle, bool keepLogs, TextWriter progress)
    {
        await using var cluster = await RealCluster.StartAsync(progress).ConfigureAwait(false);
        await cluster.CreateNodesAsync(NodeIps).ConfigureAwait(false);
        var wanted = Enumerable.Range(0, services).Select(i => ($"svc-{i:D5}", FirstPort + (i % DistinctPorts))).ToList();
        var created = await cluster.CreateServicesAsync(wanted, progress).ConfigureAwait(false);
        await progress.WriteLineAsync($"   scale: {services} Services created in {created.TotalSeconds:F1} s").ConfigureAwait(false);

        var work = Directory.CreateTempSubdirectory("llb-real-scale-");
        await using var watch = await IngressWatch.StartAsync(cluster.Admin).ConfigureAwait(false);
        var arguments = cluster.DaemonArguments(work.FullName, Pool, Identity);
        try
        {
            await progress.WriteLineAsync("   scale: cold start").ConfigureAwait(false);
            using var cold = DaemonProcess.Start(dll, arguments, Path.Combine(work.FullName, "daemon-cold.log"), Markers.All);
            var coldStart = await MeasureStartAsync("cold", cold, cluster, watch, services, progress).ConfigureAwait(false);

            // Settling: the first 30 s after all is served still carry the start's tail (the Events written in the
            // background at the client's pace, the first rounds of health checks); measured apart from the idle time.
            var settleCores = await CoresOverAsync(cold.Pid, SettleTime).ConfigureAwait(false);
            await progress.WriteLineAsync($"   scale: settling {settleCores:F3} cores over {SettleTime.TotalSeconds:F0} s").ConfigureAwait(false);

            // Idle: nothing changes in the cluster; what the daemon spends is its own upkeep (Lease renewals, timers, GC).
            var idleCores = await CoresOverAsync(cold.Pid, idle).ConfigureAwait(false);
            await progress.WriteLineAsync($"   scale: idle {idleCores:F3} cores over {idle.TotalSeconds:F0} s").ConfigureAwait(false);

            var accepting = await ListenerTable.ConnectAllAsync(watch.Ingress.Values.Select(entry => (entry.Ip, entry.Port))).ConfigureAwait(false);
            await progress.WriteLineAsync($"   scale: {accepting} of {services} listeners accepted a connection").ConfigureAwait(false);

            var killed = cold.Signal(DaemonProcess.SigKill);
            var exited = await cold.WhenExitedAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false)
                ?? throw new InvalidOperationException("the daemon did not exit within 30 s of SIGKILL");
            await progress.WriteLineAsync("   scale: SIGKILL, restart of the same identity").ConfigureAwait(false);
            using var restarted = DaemonProcess.Start(dll, arguments, Path.Combine(work.FullName, "daemon-restart.log"), Markers.All);
            var restart = await MeasureStartAsync("restart", restarted, cluster, watch, services, progress).ConfigureAwait(false);
            var killToListening = Ms(killed, restarted.StartedAt) + (restart.ListeningAllMs ?? double.NaN);
            var stopped = await restarted.TerminateAsync(TimeSpan.FromMinutes(1)).ConfigureAwait(false);
            return new RealScaleResult(services, DistinctPorts, Pool, NodeIps.Length, created, coldStart, settleCores, idle.TotalSeconds, idleCores, accepting,
                Ms(killed, exited), restart, killToListening, stopped?.Ms, stopped?.ExitCode, keepLogs ? work.FullName : string.Empty);
        }
        finally
        {
            if (keepLogs)
            {
                await progress.WriteLineAsync($"   scale: daemon logs kept in {work.FullName}").ConfigureAwait(false);
            }
            else
            {
                work.Delete(recursive: true);
            }
        }
    }

    /// <summary>
    /// From the process start: every Service's ingress IP published (another watch sees it), every Service's IP:port
    /// listening, the daemon's "Every Service reconciled" line; its cost until the last of these.
    /// </summary>
    private static async Task<RealStart> MeasureStartAsync(
        string name, DaemonProcess daemon, RealCluster cluster, IngressWatch watch, int services, TextWriter progress)
    {
        var load = new MachineLoad();
        var ownCpu = new CpuMeter(Environment.ProcessId);
        var apiCpu = new CpuMeter(cluster.ApiServerPid);
        var etcdCpu = new CpuMeter(cluster.EtcdPid);
        var t0 = daemon.StartedAt;

        // A Service's IP:port is known once its status names the IP, so listeners are looked for as statuses arrive.
        var ingress = watch.WhenCountAsync(services, StartLimit);
        var listening = ListenerTable.WhenAllListeningAsync(
            () => [.. watch.Ingress.Values.Select(entry => ListenerTable.Key(entry.Ip, entry.Port))], services, ListenerPoll, StartLimit);
        var ready = daemon.WhenLoggedAfterAsync(Markers.Ready, t0, StartLimit);
        var ingressAt = await ingress.ConfigureAwait(false);
        var (listeningAt, seen, _) = await listening.ConfigureAwait(false);
        var (readyAt, readyLine) = await ready.ConfigureAwait(false);

        var daemonCpu = ProcFs.CpuSeconds(daemon.Pid) ?? double.NaN;
        var (api, etcd, own) = (apiCpu.Seconds(), etcdCpu.Seconds(), ownCpu.Seconds());
        var run = new RealStart(
            name,
            await LoggedMsAsync(daemon, Markers.CachesSynced, t0).ConfigureAwait(false),
            await LoggedMsAsync(daemon, Markers.Leading, t0).ConfigureAwait(false),
            ingressAt >= t0 ? Ms(t0, ingressAt) : null,
            listeningAt is { } at ? Ms(t0, at) : null,
            seen,
            Ms(t0, readyAt),
            readyLine,
            daemonCpu,
            api,
            etcd,
            ProcFs.StatusKiB(daemon.Pid, "VmHWM") ?? 0,
            ProcFs.StatusKiB(daemon.Pid, "VmRSS") ?? 0,
            daemon.LogLines,
            daemon.LogBytes,
            load.OthersCores(daemonCpu + api + etcd + own));
        var ingressText = run.IngressAllMs is { } written ? $"{written:F0} ms" : "already written";
        await progress.WriteLineAsync($"   scale: {name}: ingress all {ingressText}, listening all {run.ListeningAllMs:F0} ms "
            + $"({seen} of {services}), ready log {run.ReadyMs:F0} ms, peak RSS {run.PeakRssKiB / 1024.0:F1} MiB").ConfigureAwait(false);
        if (listeningAt is null)
        {
            throw new InvalidOperationException($"{name}: only {seen} of {services} listeners within {StartLimit}");
        }

        return run;
    }

    private static async Task<double?> LoggedMsAsync(DaemonProcess daemon, string marker, long since)
    {
        try
        {
            return Ms(since, (await daemon.WhenLoggedAfterAsync(marker, since, TimeSpan.FromMilliseconds(100)).ConfigureAwait(false)).At);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Log lines the real-API benchmarks time (the daemon's [LoggerMessage] texts).</summary>
internal static class Markers
{
    public const string CachesSynced = "Caches synced:";
    public const string SawLeader = "The leader is now";
    public const string TakingOver = "takes the Lease over";
    public const string Leading = "is now the leader";
    public const string Ready = "Every Service reconciled:";

    public static readonly string[] All = [CachesSynced, SawLeader, TakingOver, Leading, Ready];
}
