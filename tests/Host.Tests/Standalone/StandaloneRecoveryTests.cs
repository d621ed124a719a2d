using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;
using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// What the standalone mode survives: a crash of its process (the real daemon, killed with SIGKILL) and a port that
/// another process holds for a while.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class StandaloneRecoveryTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-recovery-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Restart_AfterSigkill_GivesEveryServiceItsIpBack_WhateverTheOrderOfTheFile()
    {
        var backend = Net.FreePort("127.0.0.91");
        var port = Net.FreePort("127.0.101.1");
        var file = Path.Combine(_directory, "services.yaml");
        var state = Path.Combine(_directory, "state.json");
        var web = Service("web", port, $"127.0.0.91:{backend}");
        var api = Service("api", port, $"127.0.0.91:{backend}");
        var spacer = Service("spacer", port, $"127.0.0.91:{backend}");
        string[] args = ["standalone", file, "--restricted-cidr", "127.0.101.0/29", "--state-file", state];
        await SaveAsync(file, web);
        await using var backends = await DemoBackends.StartAsync($"127.0.0.91:{backend}");

        // All on one port, so no two share an address: each edit takes the next one.
        var started = Stopwatch.StartNew();
        string webIp, apiIp;
        using (var first = DaemonProcess.Start(args))
        {
            log.WriteLine($"{started.Elapsed.TotalSeconds:F3} first daemon started");
            webIp = await first.IpOfAsync("default/web", port, Patience);
            await SaveAsync(file, Documents(web, spacer));
            Assert.Equal("127.0.101.2", await first.IpOfAsync("default/spacer", port, Patience));
            await SaveAsync(file, Documents(web, spacer, api));
            apiIp = await first.IpOfAsync("default/api", port, Patience);

            // A crash right after api was applied: nothing stands down, nothing is written on the way out.
            first.Kill();
            log.WriteLine($"{started.Elapsed.TotalSeconds:F3} first daemon killed; its lines:\n{first.Timeline}");
            Assert.Contains($"state: {state}", first.Output.ToString(), StringComparison.Ordinal);
        }

        // The spacer leaves the file while the daemon is down, and the others swap places: started afresh, web and api
        // would take the two lowest addresses, in whatever order they came; only what the state kept gives api the third.
        Assert.Equal(("127.0.101.1", "127.0.101.3"), (webIp, apiIp));
        await SaveAsync(file, Documents(api, web));

        // The restart runs in this process: what it must find is on disk, and a second process start would only add the
        // time a new runtime takes to read its first YAML.
        await using var second = StandaloneRun.Start(file, state, "--restricted-cidr", "127.0.101.0/29");
        log.WriteLine($"{started.Elapsed.TotalSeconds:F3} second daemon started");
        Assert.Equal(apiIp, await second.IpOfAsync("default/api", port));
        Assert.Equal(webIp, await second.IpOfAsync("default/web", port));
        log.WriteLine($"{started.Elapsed.TotalSeconds:F3} second daemon ready");
        Assert.Equal($"hello from 127.0.0.91:{backend}", await Net.GetAsync(webIp, port));
        Assert.Equal($"hello from 127.0.0.91:{backend}", await Net.GetAsync(apiIp, port));
        Assert.Equal(0, await second.StopAsync());
    }

    [Fact]
    public async Task PortHeldByAnotherProcess_IsServedByItselfWithinSecondsOfItsRelease_WarnedAboutOnce()
    {
        var backend = Net.FreePort("127.0.0.92");
        var port = Net.FreePort("127.0.102.1");
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Service("web", port, $"127.0.0.92:{backend}"));
        await using var backends = await DemoBackends.StartAsync($"127.0.0.92:{backend}");
        var holder = new TcpListener(IPAddress.Parse("127.0.102.1"), port);
        holder.Start();
        try
        {
            await using var standalone = StandaloneRun.Start(file, Path.Combine(_directory, "state.json"), "--restricted-cidr", "127.0.102.0/29");
            Assert.True(await standalone.PrintedAsync("default/web → not served (the warning logged for it says why)"), standalone.ToString());
            Assert.True(await standalone.LoggedAsync($"default/web ApplyFailed: listener 127.0.102.1:{port}"), standalone.ToString());

            // While the port stays taken the daemon keeps trying (200 ms, 400 ms, 800 ms apart): a moment for a few attempts,
            // so that "warned once" is about several failures.
            await Task.Delay(TimeSpan.FromSeconds(1));
            holder.Stop();
            var released = Stopwatch.StartNew();

            Assert.True(
                await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.102.1", port) == $"hello from 127.0.0.92:{backend}", TimeSpan.FromSeconds(7)),
                $"not served {released.Elapsed} after the port was released; {standalone}");
            Assert.Equal(1, standalone.LogLines("default/web ApplyFailed:"));
            Assert.Equal(0, standalone.LogLines("default/web is not served:"));
            Assert.True(await standalone.LoggedAsync("default/web is served on 127.0.102.1 again"), standalone.ToString());

            // The table is printed again by itself: what runs changed without an edit of the file.
            Assert.True(await standalone.PrintedAsync($"default/web → 127.0.102.1:{port} → 127.0.0.92:{backend}"), standalone.ToString());
            Assert.Equal(0, await standalone.StopAsync());
        }
        finally
        {
            holder.Stop();
        }
    }
}
