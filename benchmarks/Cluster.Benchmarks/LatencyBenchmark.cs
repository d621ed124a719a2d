using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using k8s;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Host;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Kubernetes;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Tests.FakeKubernetesApi;
using LoadBalancer.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>One Service's path through the daemon, each step in ms after the Service was put into the API server.</summary>
internal sealed record ServiceTimings(
    string Name, string Ip, double StatusMs, double AcceptMs, double? ListeningMs, double? AppliedMs, double? WatchedMs, bool PolledPredictedIp);

internal sealed record LatencyResult(int Services, int Warmup, string Pool, int ServicePort, TimeSpan PollInterval, IReadOnlyList<ServiceTimings> Timings, double OthersCores);

/// <summary>
/// Services added one at a time to a running daemon (in-process, as the command line composes it) against the
/// fake API server: how long until the status is written and until the listener accepts a TCP connection.
/// </summary>
internal static class LatencyBenchmark
{
    public const string Pool = "127.0.120.0/23";
    public const int ServicePort = 8080;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(10);

    public static async Task<LatencyResult> RunAsync(int services, int warmup, TextWriter progress)
    {
        await using var api = await FakeApiServer.StartAsync().ConfigureAwait(false);
        using var backend = new GreetingBackend();
        api.PutNode(BenchObjects.WorkerNode("worker-1", "127.0.0.1"));

        var waiting = new ConcurrentDictionary<string, TaskCompletionSource<(long At, string Body)>>();
        api.StatusPatched += patch =>
        {
            var at = Stopwatch.GetTimestamp();
            if (waiting.TryGetValue(patch.Name, out var pending))
            {
                pending.TrySetResult((at, patch.Body));
            }
        };

        var log = new TimestampedLog();
        using var stop = new CancellationTokenSource();
        var reconciler = new TaskCompletionSource<IServiceReconciler>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Composed as the command line composes it, with the fake API server's client and the log in memory.
        var seams = new HostSeams
        {
            Environment = new Dictionary<string, string?>(),
            ConfigurationFiles = new ConfigurationFileLocations { SystemDirectory = "/nonexistent", HomeDirectory = "/nonexistent", WorkingDirectory = "/nonexistent" },
            Logging = logging => logging.AddProvider(new WriterLoggerProvider(log)),
            UnderSystemd = false,
            KubernetesClient = api.CreateClient(),
            KubernetesAdapter = _ => Options(),
            Built = provider => reconciler.TrySetResult(provider.GetRequiredService<IServiceReconciler>()),
        };
        var run = Task.Run(() => LoadBalancerApp.RunAsync(
            ["--restricted-cidr", Pool, "--no-announce", "--drain-timeout", "0"], TextWriter.Null, log, stop.Token, seams));
        try
        {
            var ready = await reconciler.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            await ready.Ready.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);

            // A second watch, like the daemon's, shows what of the time is the API server's and the client library's.
            using var observerClient = api.CreateClient();
            var watched = new ConcurrentDictionary<string, long>();
            var observing = ObserveAddedAsync(observerClient, api.ResourceVersion, watched, stop.Token);

            var load = new MachineLoad();
            var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var timings = new List<ServiceTimings>();
            IPAddress? last = null;
            for (var i = 0; i < warmup + services; i++)
            {
                var name = i < warmup ? $"warmup-{i + 1:D2}" : $"lat-{i - warmup + 1:D4}";
                var timing = await AddOneAsync(api, log, waiting, watched, name, backend.Port, last).ConfigureAwait(false);
                last = IPAddress.Parse(timing.Ip);
                if (i >= warmup)
                {
                    timings.Add(timing);
                }

                if ((i + 1) % 50 == 0)
                {
                    await progress.WriteLineAsync($"   latency: {i + 1}/{warmup + services} services").ConfigureAwait(false);
                }
            }

            await stop.CancelAsync().ConfigureAwait(false);
            await observing.ConfigureAwait(false);
            var others = load.OthersCores((Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore).TotalSeconds);
            return new LatencyResult(services, warmup, Pool, ServicePort, PollInterval, timings, others);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await run.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
    }

    private static KubernetesAdapterOptions Options() => new()
    {
        Services = new KubernetesServiceOptions { Backends = BackendMode.NodePorts },
        LeaderElection = new LeaderElectionOptions { Enabled = false },
    };

    private static async Task<ServiceTimings> AddOneAsync(
        FakeApiServer api,
        TimestampedLog log,
        ConcurrentDictionary<string, TaskCompletionSource<(long At, string Body)>> waiting,
        ConcurrentDictionary<string, long> watched,
        string name,
        int nodePort,
        IPAddress? last)
    {
        var status = new TaskCompletionSource<(long At, string Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting[name] = status;

        // Each Service asks for the same port, so each takes a new IP and the allocator hands them out in order: polling
        // the next one from the start measures the listener on its own, not after the status (which is written later).
        var predicted = last is null ? null : Next(last);
        var poll = new AcceptPoll(predicted, ServicePort, PollInterval);

        var t0 = Stopwatch.GetTimestamp();
        api.PutService(BenchObjects.LoadBalancerService(name, ServicePort, nodePort));
        var polling = poll.RunAsync(t0 + (long)(StepLimit.TotalSeconds * Stopwatch.Frequency));

        var (statusAt, body) = await status.Task.WaitAsync(StepLimit).ConfigureAwait(false);
        var ip = IngressIp(body) ?? throw new InvalidOperationException($"{name}: status patch without an IP: {body}");
        var predictedRight = predicted?.ToString() == ip;
        if (!predictedRight)
        {
            poll.Retarget(IPAddress.Parse(ip));
        }

        var acceptAt = await polling.ConfigureAwait(false) ?? throw new TimeoutException($"{name}: {ip}:{ServicePort} did not accept within {StepLimit}");

        // The reconcile ends with the Applied log line: wait for it, so that the next Service starts on an idle daemon.
        var applied = await EventuallyAsync(() => log.FirstAfter(t0, "Applied default/" + name + " ")).ConfigureAwait(false);
        var listening = log.FirstAfter(t0, "Listening on", ip + ":" + ServicePort);
        waiting.TryRemove(name, out _);
        return new ServiceTimings(name, ip, Ms(t0, statusAt), Ms(t0, acceptAt), listening is { } l ? Ms(t0, l) : null,
            applied is { } a ? Ms(t0, a) : null, watched.TryGetValue(name, out var w) ? Ms(t0, w) : null, predictedRight);
    }

    private static async Task ObserveAddedAsync(IKubernetes client, long since, ConcurrentDictionary<string, long> watched, CancellationToken stop)
    {
        try
        {
            await foreach (var (type, service) in client.CoreV1.WatchListServiceForAllNamespacesAsync(
                resourceVersion: since.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken: stop).ConfigureAwait(false))
            {
                if (type == WatchEventType.Added && service.Metadata?.Name is { } name)
                {
                    watched.TryAdd(name, Stopwatch.GetTimestamp());
                }
            }
        }
        catch (Exception failure) when (failure is OperationCanceledException or IOException or HttpRequestException)
        {
        }
    }

    private static async Task<long?> EventuallyAsync(Func<long?> probe)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(StepLimit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (probe() is { } found)
            {
                return found;
            }

            await Task.Delay(1).ConfigureAwait(false);
        }

        return null;
    }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private static IPAddress Next(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        for (var i = bytes.Length - 1; i >= 0 && ++bytes[i] == 0; i--)
        {
        }

        return new IPAddress(bytes);
    }

    private static string? IngressIp(string patchBody) =>
        JsonNode.Parse(patchBody)?["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"]?.GetValue<string>();
}
