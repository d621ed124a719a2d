using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// Dual-stack Services in the standalone mode: a pool of 127.0.125.0/29 and ::1 (both served by the loopback device),
/// a demo backend on 127.0.0.191.
/// </summary>
public sealed class StandaloneDualStackTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-standalone-dualstack-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task RequireDualStack_IsServedOnAnIPv4AndOnAnIPv6Address_AndARestartKeepsBoth()
    {
        var backendPort = Net.FreePort("127.0.0.191");
        var port = Net.FreePort("::1");
        var file = Path.Combine(_directory, "services.yaml");
        var state = Path.Combine(_directory, "state.json");
        await SaveAsync(file, DualStack("web", port, $"127.0.0.191:{backendPort}", "RequireDualStack", "[IPv6, IPv4]"));
        await using var backend = await DemoBackends.StartAsync($"127.0.0.191:{backendPort}");
        var expected = $"hello from 127.0.0.191:{backendPort}";

        for (var run = 0; run < 2; run++)
        {
            await using var standalone = StandaloneRun.Start(file, state, "--restricted-cidr", "127.0.125.0/29, ::1/128");
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("::1", port) == expected, StandaloneRun.Patience), standalone.ToString());
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.125.1", port) == expected, StandaloneRun.Patience), standalone.ToString());
            Assert.Equal(0, await standalone.StopAsync());
            Assert.Null(await Net.GetAsync("::1", port));
        }

        var saved = await File.ReadAllTextAsync(state);
        Assert.Contains("\"::1\"", saved, StringComparison.Ordinal);
        Assert.Contains("\"127.0.125.1\"", saved, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAnIPv6Pool_RequireDualStackIsRefusedWithTheReason_PreferDualStackIsServedOnIPv4()
    {
        var backendPort = Net.FreePort("127.0.0.191");
        var (both, either) = (Net.FreePort("127.0.125.9"), Net.FreePort("127.0.125.9"));
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file,
            DualStack("both", both, $"127.0.0.191:{backendPort}", "RequireDualStack", "[IPv4, IPv6]")
            + "---\n"
            + DualStack("either", either, $"127.0.0.191:{backendPort}", "PreferDualStack", "[IPv4, IPv6]"));
        await using var backend = await DemoBackends.StartAsync($"127.0.0.191:{backendPort}");
        await using var standalone = StandaloneRun.Start(file, Path.Combine(_directory, "state.json"), "--restricted-cidr", "127.0.125.9/32");

        Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.125.9", either) == $"hello from 127.0.0.191:{backendPort}", StandaloneRun.Patience), standalone.ToString());
        Assert.True(await standalone.LoggedAsync("no pool has IPv6 addresses to give default/both"), standalone.ToString());
        Assert.True(await standalone.LoggedAsync("default/either IPFamilyUnavailable"), standalone.ToString());
        Assert.Null(await Net.GetAsync("127.0.125.9", both));
        Assert.Equal(0, await standalone.StopAsync());
    }

    private static string DualStack(string name, int port, string backends, string policy, string families) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
          annotations:
            littlelb.io/backends: "{backends}"
            littlelb.io/health-check-enabled: "false"
        spec:
          type: LoadBalancer
          ipFamilyPolicy: {policy}
          ipFamilies: {families}
          ports:
            - port: {port}

        """;
}
