using System.Diagnostics;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// Two daemon processes on one Lease of the real API server: exactly one serves, and the standby takes over every
/// Service's IP when the leader dies (SIGKILL) or stops (SIGTERM), without an IP changing.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class LeadershipTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private const string NodeIp = "127.0.0.216";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public void Dispose() => _folder.Delete(recursive: true);

    [KubeFact]
    public async Task LeaderKilled_TheStandbyServesEveryServiceOnTheSameIps_AndTheOldLeaderReturnsAsTheStandby()
    {
        await using var scene = await LeadershipScene.CreateAsync(controlPlane, _folder.FullName, "127.0.128.0/29", NodeIp, 8080, 8081);
        var (first, second) = await LeaderAndStandbyAsync(scene);
        var ips = await scene.IngressNowAsync();

        var killed = Stopwatch.StartNew();
        var leased = scene.HolderEventuallyAsync(second.Identity, killed, Limit);
        first.Process.Kill();
        var takeover = await scene.ServedByEventuallyAsync(second, killed, Limit);
        output.WriteLine($"figure: the Lease names the standby {(await leased).TotalSeconds:F2} s after SIGKILL of the leader");

        output.WriteLine($"figure: takeover after SIGKILL of the leader {takeover.TotalSeconds:F2} s (kill to the standby's sockets answering on both Services' IPs; lease duration 2 s)");
        Assert.True(takeover < TimeSpan.FromSeconds(5), $"takeover after SIGKILL took {takeover}; {scene.Replicas()}");
        Assert.Equal(second.Identity, await scene.HolderAsync());
        Assert.Equal(ips, await scene.IngressNowAsync());

        var restarted = await scene.StartReplicaAsync(first.Identity);
        Assert.True(await Net.EventuallyAsync(restarted.ReadyAsync, Limit), $"the restarted replica never became ready; {scene.Replicas()}");
        await AssertOneServesAsync(scene, leader: second, standby: restarted);
        Assert.Equal(ips, await scene.IngressNowAsync());
        second.AssertNeverForbidden();
        restarted.AssertNeverForbidden();
    }

    [KubeFact]
    public async Task LeaderTerminated_ReleasesTheLease_AndTheStandbyServesEveryServiceOnTheSameIps()
    {
        await using var scene = await LeadershipScene.CreateAsync(controlPlane, _folder.FullName, "127.0.128.8/29", NodeIp, 8080, 8081);
        var (first, second) = await LeaderAndStandbyAsync(scene);
        var ips = await scene.IngressNowAsync();

        var terminated = Stopwatch.StartNew();
        var leased = scene.HolderEventuallyAsync(second.Identity, terminated, Limit);
        first.Process.Signal("TERM");
        var takeover = await scene.ServedByEventuallyAsync(second, terminated, Limit);
        output.WriteLine($"figure: the Lease names the standby {(await leased).TotalSeconds:F2} s after SIGTERM of the leader");

        output.WriteLine($"figure: takeover after SIGTERM of the leader {takeover.TotalSeconds:F2} s (signal to the standby's sockets answering on both Services' IPs)");
        Assert.True(takeover < TimeSpan.FromSeconds(10), $"takeover after SIGTERM took {takeover}; {scene.Replicas()}");
        Assert.Equal(0, await first.Process.ExitCodeAsync(Limit));
        Assert.Contains($"{first.Identity} released the Lease kube-system/{scene.Cluster.LeaseName}", first.Process.Error.ToString(), StringComparison.Ordinal);
        Assert.Equal(second.Identity, await scene.HolderAsync());
        Assert.Equal(ips, await scene.IngressNowAsync());
        first.AssertNeverForbidden();
        second.AssertNeverForbidden();
    }

    /// <summary>
    /// replica-1 alone until every Service has its IP, then replica-2; returns them once replica-1 serves and
    /// replica-2 stands by.
    /// </summary>
    private static async Task<(ClusterDaemon Leader, ClusterDaemon Standby)> LeaderAndStandbyAsync(LeadershipScene scene)
    {
        var leader = await scene.StartReplicaAsync("replica-1");
        await scene.IngressEventuallyAsync();
        var standby = await scene.StartReplicaAsync("replica-2");
        Assert.True(await Net.EventuallyAsync(standby.ReadyAsync, Limit), $"the standby never became ready; {scene.Replicas()}");
        await AssertOneServesAsync(scene, leader, standby);
        leader.AssertNeverForbidden();
        return (leader, standby);
    }

    /// <summary>
    /// The Lease names <paramref name="leader"/>, only its process listens on the Services' IPs and they answer there;
    /// <paramref name="standby"/> says it stands by and is ready (a synced standby is ready, docs/observability.md).
    /// </summary>
    private static async Task AssertOneServesAsync(LeadershipScene scene, ClusterDaemon leader, ClusterDaemon standby)
    {
        Assert.True(await Net.EventuallyAsync(() => scene.ServedByAsync(leader), Limit), $"{leader.Identity} does not serve every Service; {scene.Replicas()}");
        Assert.Equal(leader.Identity, await scene.HolderAsync());
        Assert.Equal("leading", await RoleAsync(leader));
        Assert.Equal("standingBy", await RoleAsync(standby));
        Assert.True(await standby.ReadyAsync(), $"the standby's /readyz is not 200; {standby}");
        foreach (var service in scene.Services)
        {
            Assert.Equal([leader.Process.Id], LeadershipScene.ListenerPids(service.Ip, service.Port));
        }
    }

    private static async Task<string?> RoleAsync(ClusterDaemon daemon)
    {
        using var state = await daemon.StateAsync();
        return state.RootElement.GetProperty("state").GetProperty("role").GetString();
    }
}
