using System.Globalization;
using LoadBalancer.EndToEnd.Tests.Cluster;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// Two replicas of the daemon on one Lease, lb1 leading and lb2 standing by, both announcing; the leader stops, by a
/// crash or gracefully, while the client keeps opening connections to the Service's IP.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class FailoverTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const int Port = 80;

    /// <summary>The goal for a crash is the Lease's 2 s duration plus a retry; this leaves room for a busy machine.</summary>
    private static readonly TimeSpan CrashGapBound = TimeSpan.FromSeconds(8);

    /// <summary>The goal for a graceful stop is 0.5 s (the standby's next look after the release).</summary>
    private static readonly TimeSpan GracefulGapBound = TimeSpan.FromSeconds(3);

    [KubeRootFact]
    public async Task LeaderSigkilled_StandbyPutsTheIpOnItsLink_AndAnnouncesIt_AndTheClientIsServedAgain_WithTheSameStatus()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var (leader, standby, ip) = await LeaderAndStandbyServingAsync(small);
        var network = small.Network;
        var statusBefore = await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, "web");

        using var probe = await ProbeServedAsync(small, ip);
        var killed = probe.Clock.Elapsed;
        var killedAt = DateTime.Now;
        leader.Process.Kill();
        var gap = await TakeoverAsync(small, probe, ip, killed, "SIGKILL");
        PrintSteps(
            "SIGKILL",
            killedAt,
            (standby, "takes the Lease over"), (standby, "is now the leader"), (standby, $"Added {ip}/"), (standby, $"Listening on {ip}:{Port}"));
        Assert.True(gap <= CrashGapBound, $"the client's gap was {gap.TotalMilliseconds:F0} ms (bound {CrashGapBound.TotalSeconds:F0} s)\n{small.Describe()}");

        Assert.True(network.Lb2.Has(ip), network.Lb2.Addresses());
        Assert.True(await standby.Process.LoggedAsync($"Announced {ip} on {ClusterNetwork.Device}", SmallCluster.Limit), $"lb2 did not announce {ip}\n{standby}");
        await AssertServedByLb2Async(small, probe, ip);
        Assert.Equal(statusBefore, await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, "web"));
        output.WriteLine($"figure: status before and after: {string.Join('/', statusBefore)}");
        standby.AssertNeverForbidden();
    }

    [KubeRootFact]
    public async Task LeaderSigtermed_ReleasesTheLeaseAndItsAddress_AndTheStandbyServesTheClientAlmostAtOnce()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var (leader, standby, ip) = await LeaderAndStandbyServingAsync(small);
        var network = small.Network;
        var statusBefore = await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, "web");

        using var probe = await ProbeServedAsync(small, ip);
        var signalled = probe.Clock.Elapsed;
        var signalledAt = DateTime.Now;
        leader.Process.Signal("TERM");
        var gap = await TakeoverAsync(small, probe, ip, signalled, "SIGTERM");
        Assert.Equal(0, await leader.Process.ExitCodeAsync(SmallCluster.Limit));
        output.WriteLine($"figure: SIGTERM → old leader exited 0 by {(probe.Clock.Elapsed - signalled).TotalMilliseconds:F0} ms");
        PrintSteps(
            "SIGTERM",
            signalledAt,
            (leader, "Application is shutting down"), (leader, $"Removed {ip}/"), (leader, "released the Lease"),
            (standby, "takes the Lease over"), (standby, "is now the leader"), (standby, $"Added {ip}/"), (standby, $"Listening on {ip}:{Port}"));
        Assert.True(gap <= GracefulGapBound, $"the client's gap was {gap.TotalMilliseconds:F0} ms (bound {GracefulGapBound.TotalSeconds:F0} s)\n{small.Describe()}");

        // The old leader cleaned up after itself: its address is gone from lb1's link, the Lease released.
        Assert.False(network.Lb1.Has(ip), $"lb1 kept {ip} after a graceful stop:\n{network.Lb1.Addresses()}\n{leader}");
        Assert.Contains("released the Lease", leader.Process.Error.ToString(), StringComparison.Ordinal);
        Assert.True(network.Lb2.Has(ip), network.Lb2.Addresses());
        Assert.True(await standby.Process.LoggedAsync($"Announced {ip} on {ClusterNetwork.Device}", SmallCluster.Limit), $"lb2 did not announce {ip}\n{standby}");
        await AssertServedByLb2Async(small, probe, ip);
        Assert.Equal(statusBefore, await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, "web"));
        leader.AssertNeverForbidden();
        standby.AssertNeverForbidden();
    }

    /// <summary>
    /// lb1's daemon leading and serving "web" on port 80 from both nodes, the client having found the IP at lb1's MAC,
    /// and lb2's daemon started on the same Lease and following lb1.
    /// </summary>
    private static async Task<(ClusterDaemon Leader, ClusterDaemon Standby, string Ip)> LeaderAndStandbyServingAsync(SmallCluster small)
    {
        var network = small.Network;
        var leader = await small.StartDaemonAsync(network.Lb1);
        var service = await small.CreateServiceAsync("web", new ServicePort(Port));
        foreach (var worker in small.Workers)
        {
            worker.ServeTcp(service.Spec.Ports[0].NodePort!.Value);
        }

        var ip = await small.IngressEventuallyAsync("web");
        Assert.True(
            await Net.EventuallyAsync(async () => await small.WhoAnswersAsync(ip, Port) is not null, SmallCluster.Limit),
            $"the client was not served at {ip}:{Port} by lb1\n{small.Describe()}");

        var standby = await small.StartDaemonAsync(network.Lb2);
        Assert.True(
            await standby.Process.LoggedAsync($"The leader is now {network.Lb1.Role}", SmallCluster.Limit),
            $"lb2 did not see lb1 leading\n{small.Describe()}");
        Assert.True(network.Lb1.Has(ip), network.Lb1.Addresses());
        Assert.False(network.Lb2.Has(ip), $"the standby holds {ip}:\n{network.Lb2.Addresses()}");
        Assert.Contains($"{ip} dev {ClusterNetwork.Device} lladdr {network.Lb1.Mac}", network.Client.Neighbours(), StringComparison.Ordinal);
        return (leader, standby, ip);
    }

    /// <summary>
    /// Waits for the client to be served through lb2 after the leader was stopped at <paramref name="mark"/> (the
    /// client's neighbour entry names lb2's MAC, then a connection opened after that is answered) and prints what the
    /// client saw; answers the gap: the longest time without an answer from the last one before the mark to that one.
    /// </summary>
    private async Task<TimeSpan> TakeoverAsync(SmallCluster small, FailoverProbe probe, string ip, TimeSpan mark, string how)
    {
        var lb2 = small.Network.Lb2;
        var moved = await MacNamedEventuallyAsync(small.Network.Client, ip, lb2.Mac, probe);
        Assert.True(moved is not null, $"the client's neighbour entry for {ip} never named lb2's MAC after the {how}\n{small.Describe()}");
        var served = await probe.FirstAnswerFromAsync(moved.Value, SmallCluster.Limit);
        Assert.True(served is not null, $"the client was not served through lb2 within {SmallCluster.Limit.TotalSeconds:F0} s of the {how}\n{small.Describe()}");

        var last = probe.LastAnswerBefore(mark)!.Value;
        var (gap, silenceStart) = probe.LongestSilence(last.Ended, served.Value.Ended);
        output.WriteLine($"figure: {how} of the leader → client's gap (longest time without an answer): {gap.TotalMilliseconds:F0} ms, from {(silenceStart - mark).TotalMilliseconds:+0;-0} ms");
        output.WriteLine($"figure: {how} → the client's neighbour entry for {ip} names lb2's MAC: {(moved.Value - mark).TotalMilliseconds:F0} ms");
        output.WriteLine($"figure: {how} → first answer on a connection opened after that: {(served.Value.Ended - mark).TotalMilliseconds:F0} ms");
        output.WriteLine($"figure: {how}, what the client saw: {probe.Timeline(last.Started, served.Value.Started, mark)}");
        return gap;
    }

    /// <summary>
    /// Where the takeover's time went, from the daemons' own log stamps (local time, this host's clock, as
    /// <paramref name="origin"/>): each step's last line, relative to the signal.
    /// </summary>
    private void PrintSteps(string how, DateTime origin, params (ClusterDaemon Daemon, string Text)[] steps) =>
        output.WriteLine($"figure: {how} steps (daemons' log stamps, from the signal): " + string.Join(", ", steps.Select(step =>
            $"{step.Daemon.Identity} \"{step.Text}\" {(LoggedAt(step.Daemon, step.Text) is { } at ? $"{(at - origin).TotalMilliseconds:+0;-0} ms" : "(not logged)")}")));

    /// <summary>The stamp of the last line of <paramref name="daemon"/>'s log holding <paramref name="text"/>; null when none does.</summary>
    private static DateTime? LoggedAt(ClusterDaemon daemon, string text)
    {
        // "2026-12-06 01:13:31.583 info: Microsoft.Hosting.Lifetime[0] Application is shutting down..."
        var line = daemon.Process.Error.ToString().Split('\n').LastOrDefault(line => line.Contains(text, StringComparison.Ordinal));
        return line is { Length: > 23 } && DateTime.TryParseExact(line[..23], "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at
            : null;
    }

    /// <summary>A probe from the client that has been answered (so "the last answer before" exists).</summary>
    private static async Task<FailoverProbe> ProbeServedAsync(SmallCluster small, string ip)
    {
        var probe = FailoverProbe.Start(small.Network.Client, ip, Port);
        // A few answers in a row, so the probe runs at its pace before the failure.
        var steady = await Net.EventuallyAsync(() => probe.Attempts.TakeLast(5).Count(a => a.Answer is not null) == 5, SmallCluster.Limit);
        Assert.True(steady, $"the probe was not answered steadily: {probe.Summary(TimeSpan.Zero, probe.Clock.Elapsed)}\n{small.Describe()}");
        return probe;
    }

    /// <summary>When (on the probe's clock) the client's neighbour entry for <paramref name="ip"/> first named <paramref name="mac"/>; null if not within the limit.</summary>
    private static Task<TimeSpan?> MacNamedEventuallyAsync(Machine client, string ip, string mac, FailoverProbe probe) => Task.Run(async () =>
    {
        var deadline = probe.Clock.Elapsed + SmallCluster.Limit;
        while (probe.Clock.Elapsed < deadline)
        {
            var at = probe.Clock.Elapsed;
            if (client.Exec($"ip neigh show {ip}").Contains($"lladdr {mac}", StringComparison.Ordinal))
            {
                return (TimeSpan?)at;
            }

            await Task.Delay(10);
        }

        return null;
    });

    /// <summary>After the failover every new connection is answered (by either node, through lb2).</summary>
    private static async Task AssertServedByLb2Async(SmallCluster small, FailoverProbe probe, string ip)
    {
        var from = probe.Clock.Elapsed;
        Assert.True(
            await Net.EventuallyAsync(() => probe.Attempts.Count(a => a.Started >= from) >= 10, SmallCluster.Limit),
            $"the probe stalled\n{small.Describe()}");
        var after = probe.Attempts.Where(a => a.Started >= from).Take(10).ToList();
        Assert.All(after, attempt => Assert.NotNull(attempt.Answer));
        Assert.Equal(
            small.Workers.Select(worker => worker.Name).Order(StringComparer.Ordinal),
            after.Select(a => a.Answer).Distinct().Order(StringComparer.Ordinal));
        Assert.Contains($"{ip} dev {ClusterNetwork.Device} lladdr {small.Network.Lb2.Mac}", small.Network.Client.Neighbours(), StringComparison.Ordinal);
    }
}
