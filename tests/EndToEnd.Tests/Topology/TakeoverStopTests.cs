using System.Diagnostics;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// A standby takes over from a crashed leader and is itself stopped with SIGTERM at a stage of that takeover: whatever
/// the stage, it exits 0 and leaves no pool address on its link (issue 15: an address stayed when the signal came
/// during the first reconcile after a takeover).
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class TakeoverStopTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    /// <summary>Enough Services for the first reconcile to take a while, on a few IPs of the pool (they share by port).</summary>
    private const int Services = 24;

    [KubeRootTheory]
    [InlineData("takes the Lease over")]
    [InlineData("IPs from the record")]
    [InlineData("Listening on")]
    [InlineData("Every Service reconciled")]
    public async Task StandbySigtermedDuringItsTakeover_ExitsCleanly_AndLeavesNoAddress(string stage)
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var network = small.Network;
        var leader = await small.StartDaemonAsync(network.Lb1);
        var ips = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < Services; index++)
        {
            await small.CreateServiceAsync($"web{index}", new ServicePort(8000 + index));
        }

        for (var index = 0; index < Services; index++)
        {
            ips.Add(await small.IngressEventuallyAsync($"web{index}"));
        }

        var standby = await small.StartDaemonAsync(network.Lb2);
        Assert.True(await standby.Process.LoggedAsync($"The leader is now {network.Lb1.Role}", SmallCluster.Limit), small.Describe());
        var logBefore = standby.LogLength;

        leader.Process.Kill();
        var reached = await Net.EventuallyAsync(() => standby.Process.Error.ToString()[logBefore..].Contains(stage, StringComparison.Ordinal), SmallCluster.Limit);
        Assert.True(reached, $"lb2 never logged '{stage}'\n{small.Describe()}");
        var signalled = Stopwatch.StartNew();
        standby.Process.Signal("TERM");
        var exitCode = await standby.Process.ExitCodeAsync(SmallCluster.Limit);
        output.WriteLine($"figure: SIGTERM at '{stage}' → exit {exitCode} after {signalled.ElapsedMilliseconds} ms; lb2 had logged {CountListening(standby.Process.Error.ToString()[logBefore..])} listeners");

        Assert.Equal(0, exitCode);
        foreach (var ip in ips)
        {
            Assert.False(network.Lb2.Has(ip), $"lb2 kept {ip} after SIGTERM at '{stage}':\n{network.Lb2.Addresses()}\n{standby}");
        }
    }

    private static int CountListening(string log) => log.Split('\n').Count(line => line.Contains("Listening on", StringComparison.Ordinal));
}
