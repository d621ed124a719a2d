using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>One Service added to the real API server while the daemon serves many others: ms after the create was sent.</summary>
internal sealed record RealServiceTimings(string Name, string Ip, double CreatedMs, double? WatchedMs, double IngressMs, double AcceptMs, bool PolledPredictedIp);

internal sealed record RealLatencyResult(
    int Services,
    int Warmup,
    int Background,
    string Pool,
    int ServicePort,
    TimeSpan PollInterval,
    double BackgroundReadyMs,
    IReadOnlyList<RealServiceTimings> Timings,
    double OthersCores);

/// <summary>
/// The Release daemon (leader election on, one replica) serving many Services of the real API server; then Services
/// created one at a time: create → ingress IP published (another watch sees it) and → listener accepting.
/// </summary>
internal static class RealLatencyBenchmark
{
    /// <summary>A /22: the background Services share a few IPs (1,000 ports each), every added one asks for port 8080 and takes a new IP.</summary>
    public const string Pool = "127.0.136.0/22";
    public const string NodeIp = "127.0.135.20";
    public const int ServicePort = 8080;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(30);

    /// <summary>Between two Services, so that each starts on a daemon done with the one before (its Event, the status echo).</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    public static async Task<RealLatencyResult> RunAsync(int services, int warmup, int background, string dll, bool keepLogs, TextWriter progress)
    {
        await using var cluster = await RealCluster.StartAsync(progress).ConfigureAwait(false);
        await cluster.CreateNodesAsync([NodeIp]).ConfigureAwait(false);
        var existing = Enumerable.Range(0, background)
            .Select(i => ($"bg-{i:D5}", RealScaleBenchmark.FirstPort + (i % RealScaleBenchmark.DistinctPorts))).ToList();
        await cluster.CreateServicesAsync(existing, progress).ConfigureAwait(false);
        await using var watch = await IngressWatch.StartAsync(cluster.Admin).ConfigureAwait(false);

        var work = Directory.CreateTempSubdirectory("llb-real-latency-");
        try
        {
            using var daemon = DaemonProcess.Start(dll, cluster.DaemonArguments(work.FullName, Pool, "latency"),
                Path.Combine(work.FullName, "daemon.log"), Markers.All);
            await watch.WhenCountAsync(background, StartLimit).ConfigureAwait(false);
            var (readyAt, _) = await daemon.WhenLoggedAfterAsync(Markers.Ready, 0, StartLimit).ConfigureAwait(false);
            var backgroundReadyMs = RealScaleBenchmark.Ms(daemon.StartedAt, readyAt);
            await progress.WriteLineAsync($"   latency: {background} Services served ({backgroundReadyMs:F0} ms after start); adding {warmup} + {services} one at a time")
                .ConfigureAwait(false);

            var load = new MachineLoad();
            CpuMeter[] ours = [new(Environment.ProcessId), new(daemon.Pid), new(cluster.ApiServerPid), new(cluster.EtcdPid)];
            var timings = new List<RealServiceTimings>();
            IPAddress? last = null;
            for (var i = 0; i < warmup + services; i++)
            {
                var name = i < warmup ? $"warmup-{i + 1:D2}" : $"lat-{i - warmup + 1:D4}";
                var timing = await AddOneAsync(cluster, watch, name, last).ConfigureAwait(false);
                last = IPAddress.Parse(timing.Ip);
                if (i >= warmup)
                {
                    timings.Add(timing);
                }

                if ((i + 1) % 50 == 0)
                {
                    await progress.WriteLineAsync($"   latency: {i + 1}/{warmup + services} Services").ConfigureAwait(false);
                }

                await Task.Delay(Pause).ConfigureAwait(false);
            }

            var others = load.OthersCores(ours.Sum(meter => meter.Seconds() is var seconds && double.IsNaN(seconds) ? 0 : seconds));
            return new RealLatencyResult(services, warmup, background, Pool, ServicePort, PollInterval, backgroundReadyMs, timings, others);
        }
        finally
        {
            if (keepLogs)
            {
                await progress.WriteLineAsync($"   latency: daemon log kept in {work.FullName}").ConfigureAwait(false);
            }
            else
            {
                work.Delete(recursive: true);
            }
        }
    }

    private static async Task<RealServiceTimings> AddOneAsync(RealCluster cluster, IngressWatch watch, string name, IPAddress? last)
    {
        // Each added Service asks for the same port, so the allocator hands out the next free IP: polling it from the
        // start times the listener on its own, not after the status (which the daemon writes after listening).
        var predicted = last is null ? null : Next(last);
        var poll = new AcceptPoll(predicted, ServicePort, PollInterval);
        var ingress = watch.WhenServiceAsync(name);

        var t0 = Stopwatch.GetTimestamp();
        var polling = poll.RunAsync(t0 + (long)(StepLimit.TotalSeconds * Stopwatch.Frequency));
        await cluster.CreateServiceAsync(name, ServicePort).ConfigureAwait(false);
        var createdAt = Stopwatch.GetTimestamp();
        var (ingressAt, ip) = await ingress.WaitAsync(StepLimit).ConfigureAwait(false);
        var predictedRight = predicted?.ToString() == ip;
        if (!predictedRight)
        {
            poll.Retarget(IPAddress.Parse(ip));
        }

        var acceptAt = await polling.ConfigureAwait(false) ?? throw new TimeoutException($"{name}: {ip}:{ServicePort} did not accept within {StepLimit}");
        var watched = watch.AddedAt(name);
        return new RealServiceTimings(name, ip, RealScaleBenchmark.Ms(t0, createdAt), watched is { } w ? RealScaleBenchmark.Ms(t0, w) : null,
            RealScaleBenchmark.Ms(t0, ingressAt), RealScaleBenchmark.Ms(t0, acceptAt), predictedRight);
    }

    private static IPAddress Next(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        for (var i = bytes.Length - 1; i >= 0 && ++bytes[i] == 0; i--)
        {
        }

        return new IPAddress(bytes);
    }
}
