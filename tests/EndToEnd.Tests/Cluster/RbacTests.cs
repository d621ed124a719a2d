using System.Diagnostics;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Cluster;

/// <summary>
/// deploy/little-load-balancer.yaml's rights against the real API server's RBAC: with all of them the daemon does
/// everything and is refused nothing; with any one removed it is refused (a 403 in its log) and something it does for
/// the cluster visibly does not happen. So each rule is needed, and together they suffice.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class RbacTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    // Several times what the control takes to show each outcome after the objects exist (its figures are printed).
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llb-e2e-");

    public static TheoryData<string> Cases => [.. RbacCase.All.Keys];

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void EveryRightOfTheManifest_HasACase()
    {
        var covered = RbacCase.All.Values.Select(rbacCase => rbacCase.Removed).OfType<RbacPermission>().Select(permission => permission.ToString()).Order().ToList();

        Assert.Equal(RbacManifestEdit.Granted().Select(granted => granted.Permission.ToString()).Order(), covered);
    }

    [KubeTheory]
    [MemberData(nameof(Cases))]
    public async Task ManifestRights_EachIsNeeded_AndAllSuffice(string name)
    {
        var rbacCase = RbacCase.All[name];
        var server = await controlPlane.ServerAsync();
        await using var scene = await RbacScene.CreateAsync(controlPlane, _folder.FullName, rbacCase);
        var clock = Stopwatch.StartNew();
        try
        {
            var token = await DeployManifestRbac.ApplyAsync(server, rbacCase.Removed is { } removed ? RbacManifestEdit.Without(removed) : null);
            if (rbacCase.Removed is { } refused)
            {
                await RbacManifestEdit.WaitUntilAsync(scene.Cluster.Admin, refused, NamespaceOf(refused), allowed: false, Limit);
            }

            await scene.StartDaemonAsync(token);
            await scene.StartedAsync(Limit);
            await scene.CreateObjectsAsync();
            if (rbacCase.Lost is { } lost)
            {
                await AssertLostAsync(scene, name, rbacCase.Removed!, lost);
            }
            else
            {
                await AssertEverythingHappensAsync(scene, name, rbacCase.Expected);
            }
        }
        finally
        {
            // The next test's daemons get the manifest as it is written.
            await DeployManifestRbac.ApplyAsync(server);
            if (rbacCase.Removed is { } restored)
            {
                await RbacManifestEdit.WaitUntilAsync(scene.Cluster.Admin, restored, NamespaceOf(restored), allowed: true, Limit);
            }

            output.WriteLine($"figure: RBAC case \"{name}\" took {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    private async Task AssertEverythingHappensAsync(RbacScene scene, string name, IReadOnlyList<RbacOutcome> expected)
    {
        foreach (var outcome in expected.Where(outcome => outcome is not (RbacOutcome.NoWarningRepeatedAfterRestart or RbacOutcome.WarningCountedInSeries)))
        {
            var since = Stopwatch.StartNew();
            Assert.True(await Net.EventuallyAsync(() => scene.HappenedAsync(outcome), Limit), $"{outcome} never happened with the full manifest; {scene.Daemon}");
            output.WriteLine($"figure: RBAC {name}: {outcome} {since.Elapsed.TotalSeconds:F2} s (after the one before)");
        }

        if (expected.Contains(RbacOutcome.NoWarningRepeatedAfterRestart))
        {
            Assert.True(await Net.EventuallyAsync(async () => await scene.RefusalEventsAsync() == 1, Limit), scene.Daemon.ToString());
            await scene.RestartedAsync(Limit);
            await Task.Delay(Window);
            Assert.Equal(1, await scene.RefusalEventsAsync());
        }

        if (expected.Contains(RbacOutcome.WarningCountedInSeries))
        {
            Assert.True(await Net.EventuallyAsync(async () => await scene.RefusalEventsAsync() == 1, Limit), scene.Daemon.ToString());
            var since = Stopwatch.StartNew();
            await scene.RepeatRefusalAsync(Limit);
            Assert.True(
                await Net.EventuallyAsync(async () => await scene.RefusalCountsAsync() is [2], Limit),
                $"the refusal that came back was not counted in its Event's series: {string.Join(", ", await scene.RefusalCountsAsync())}; {scene.Daemon}");
            output.WriteLine($"figure: RBAC {name}: {RbacOutcome.WarningCountedInSeries} {since.Elapsed.TotalSeconds:F2} s");
        }

        scene.Daemon.AssertNeverForbidden();
    }

    private async Task AssertLostAsync(RbacScene scene, string name, RbacPermission removed, RbacOutcome lost)
    {
        if (lost == RbacOutcome.WarningCountedInSeries)
        {
            Assert.True(await Net.EventuallyAsync(async () => await scene.RefusalEventsAsync() == 1, Limit), scene.Daemon.ToString());
            await scene.RepeatRefusalAsync(Limit);
            Assert.True(
                await Net.EventuallyAsync(async () => await scene.RefusalEventsAsync() == 2, Limit),
                $"without the right to patch, the refusal that came back should be an Event of its own: {string.Join(", ", await scene.RefusalCountsAsync())}; {scene.Daemon}");
        }
        else if (lost == RbacOutcome.NoWarningRepeatedAfterRestart)
        {
            Assert.True(await Net.EventuallyAsync(async () => await scene.RefusalEventsAsync() == 1, Limit), scene.Daemon.ToString());
            await scene.RestartedAsync(Limit);
            Assert.True(
                await Net.EventuallyAsync(async () => await scene.RefusalEventsAsync() > 1, Limit),
                $"the restarted daemon did not repeat ApplyFailed, so reading its Events back made no difference; {scene.Daemon}");
        }
        else
        {
            var watched = Stopwatch.StartNew();
            while (watched.Elapsed < Window)
            {
                Assert.False(await scene.HappenedAsync(lost), $"{lost} happened without {name}; {scene.Daemon}");
                await Task.Delay(100);
            }
        }

        string? refusal = null;
        Assert.True(
            await Net.EventuallyAsync(() => (refusal = scene.ForbiddenLines().FirstOrDefault(line => Refuses(line, removed))) is not null, Limit),
            $"no 403 for {removed} in the log; {scene.Daemon}");
        output.WriteLine($"figure: RBAC without {name}: {lost} did not happen; the log says: {refusal}");
    }

    /// <summary>
    /// Whether a 403 line of the log is about <paramref name="permission"/>: the API server's own words name the verb and
    /// the resource; the Lease elector's line names only the Lease and the status.
    /// </summary>
    private static bool Refuses(string line, RbacPermission permission) =>
        permission.Resource == "leases"
            ? line.Contains("Lease ", StringComparison.Ordinal) && line.Contains("403", StringComparison.Ordinal)
            : line.Contains($"cannot {permission.Verb} resource", StringComparison.Ordinal) && line.Contains(permission.Resource, StringComparison.Ordinal);

    /// <summary>Where the manifest grants <paramref name="permission"/>: a Role's namespace, or null for the ClusterRole.</summary>
    private static string? NamespaceOf(RbacPermission permission) =>
        RbacManifestEdit.Granted().First(granted => granted.Permission == permission).Namespace;
}
