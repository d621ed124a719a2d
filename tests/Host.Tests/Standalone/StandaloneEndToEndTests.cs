using static LoadBalancer.Host.Tests.Standalone.Manifests;

namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// The standalone mode in-process on real loopback sockets: demo backends on 127.0.0.8x, Services on 127.0.100.x,
/// the file edited under it.
/// </summary>
public sealed class StandaloneEndToEndTests : IDisposable
{
    private static readonly TimeSpan Patience = StandaloneRun.Patience;

    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-standalone-").FullName;

    private string StateFile => Path.Combine(_directory, "state.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Standalone_ServesTheFile_AppliesEdits_KeepsWhatRunsOnABadFileOrSpec_AndReleasesOnCancel()
    {
        var (one, two) = (Net.FreePort("127.0.0.81"), Net.FreePort("127.0.0.82"));
        var ports = FreePorts("127.0.100.201", 2);
        var (webPort, apiPort) = (ports[0], ports[1]);
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Service("web", webPort, $"127.0.0.81:{one}, 127.0.0.82:{two}"));
        await using var backends = await DemoBackends.StartAsync($"127.0.0.81:{one}", $"127.0.0.82:{two}");
        await using var standalone = StandaloneRun.Start(file, StateFile, "--restricted-cidr", "127.0.100.200/29");
        try
        {
            // Started: the state file is named, the printed line says where to send a request, and requests reach both backends.
            var webLine = $"default/web → 127.0.100.201:{webPort} → 127.0.0.81:{one}, 127.0.0.82:{two}";
            Assert.True(await standalone.PrintedAsync(webLine), standalone.ToString());
            Assert.StartsWith($"state: {StateFile}", standalone.Output.ToString(), StringComparison.Ordinal);
            Assert.Contains("pool 127.0.100.200/29: 1 address in use", standalone.Output.ToString(), StringComparison.Ordinal);
            var answers = new HashSet<string?>();
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await Net.GetAsync("127.0.100.201", webPort));
            }

            Assert.Equal([$"hello from 127.0.0.81:{one}", $"hello from 127.0.0.82:{two}"], answers.Order(StringComparer.Ordinal));

            // Edited: web keeps only the second backend, and a second Service shares the IP on another port.
            await SaveAsync(file, Documents(Service("web", webPort, $"127.0.0.82:{two}"), Service("api", apiPort, $"127.0.0.81:{one}")));
            Assert.True(await Net.EventuallyAsync(
                async () => await Net.GetAsync("127.0.100.201", apiPort) == $"hello from 127.0.0.81:{one}", Patience), standalone.ToString());
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal($"hello from 127.0.0.82:{two}", await Net.GetAsync("127.0.100.201", webPort));
            }

            // A file that cannot be read: reported with the document and the field, and everything keeps running as it was.
            await SaveAsync(file, Documents(
                Service("web", webPort, $"127.0.0.82:{two}").Replace("  type: LoadBalancer", "  type: LoadBalancer\n  loadBalancerIp: 127.0.100.202", StringComparison.Ordinal),
                Service("api", apiPort, $"127.0.0.81:{one}")));
            Assert.True(await standalone.LoggedAsync($"error: {file}: not applied (1 problem); keeping the 2 services of the last good version as they are"), standalone.ToString());
            Assert.Contains($"error: {file}:", standalone.Error.ToString(), StringComparison.Ordinal);
            Assert.Contains(": spec.loadBalancerIp: unknown field 'loadBalancerIp'", standalone.Error.ToString(), StringComparison.Ordinal);
            Assert.Equal($"hello from 127.0.0.82:{two}", await Net.GetAsync("127.0.100.201", webPort));
            Assert.Equal($"hello from 127.0.0.81:{one}", await Net.GetAsync("127.0.100.201", apiPort));

            // A Service asking for what cannot be served: that Service is refused and keeps what ran for it; the others move on.
            await SaveAsync(file, Documents(Service("web", 70000, $"127.0.0.82:{two}"), Service("api", apiPort, $"127.0.0.82:{two}")));
            Assert.True(await standalone.LoggedAsync("default/web InvalidService: spec.ports[0].port: port 70000 must be between 1 and 65535"), standalone.ToString());
            Assert.True(await Net.EventuallyAsync(
                async () => await Net.GetAsync("127.0.100.201", apiPort) == $"hello from 127.0.0.82:{two}", Patience), standalone.ToString());
            Assert.Equal($"hello from 127.0.0.82:{two}", await Net.GetAsync("127.0.100.201", webPort));

            // Removed: api leaves when the file no longer has it; web, written as it runs, is served as before.
            await SaveAsync(file, Service("web", webPort, $"127.0.0.82:{two}"));
            Assert.True(await standalone.PrintedAsync("removed default/api"), standalone.ToString());
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.100.201", apiPort) is null, Patience));
            Assert.Equal($"hello from 127.0.0.82:{two}", await Net.GetAsync("127.0.100.201", webPort));
        }
        finally
        {
            Assert.Equal(0, await standalone.StopAsync());
        }

        Assert.Null(await Net.GetAsync("127.0.100.201", webPort));
    }

    [Fact]
    public async Task Standalone_UnreadableFileAtStart_ExitsOneServingNothing()
    {
        var file = Path.Combine(_directory, "bad.yaml");
        await SaveAsync(file, Service("web", 80, "127.0.0.1:9001").Replace("  ports:", "  loadBalancerIp: 127.0.100.9\n  ports:", StringComparison.Ordinal));
        await using var standalone = StandaloneRun.Start(file, StateFile);

        var exitCode = await standalone.Run.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: {file}:", standalone.Error.ToString(), StringComparison.Ordinal);
        Assert.Contains(": spec.loadBalancerIp: unknown field 'loadBalancerIp'", standalone.Error.ToString(), StringComparison.Ordinal);
        Assert.Contains("not applied (1 problem); nothing applied", standalone.Error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(" → ", standalone.Output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Standalone_MissingFile_ExitsOneNamingIt()
    {
        var file = Path.Combine(_directory, "absent.yaml");
        using var error = new SharedWriter();

        var exitCode = await Support.InProcess.RunAsync(["--standalone", file, "--state-file", StateFile], TextWriter.Null, error)
            .WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: {file}: no such file", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Standalone_BadBackendEntry_IsAWarning_AndTheServiceIsServedByTheGoodOnes()
    {
        var backend = Net.FreePort("127.0.0.83");
        var port = Net.FreePort("127.0.106.1");
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Service("web", port, $"127.0.0.83:{backend}, 127.0.0.1:notaport"));
        await using var backends = await DemoBackends.StartAsync($"127.0.0.83:{backend}");
        await using var standalone = StandaloneRun.Start(file, StateFile, "--restricted-cidr", "127.0.106.0/29");

        Assert.True(await standalone.PrintedAsync($"default/web → 127.0.106.1:{port} → 127.0.0.83:{backend}"), standalone.ToString());
        Assert.Equal($"hello from 127.0.0.83:{backend}", await Net.GetAsync("127.0.106.1", port));
        Assert.Contains(
            "default/web InvalidAnnotation: annotation littlelb.io/backends: '127.0.0.1:notaport': port 'notaport' must be a number from 1 to 65535",
            standalone.Error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("error:", standalone.Error.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await standalone.StopAsync());
    }

    [Fact]
    public async Task Standalone_EmptyFileAtStart_SaysSo_AndAnEditRemovingEveryServiceSaysHowManyItTookDown()
    {
        var backend = Net.FreePort("127.0.0.84");
        var ports = FreePorts("127.0.104.1", 2);
        var (first, second) = (ports[0], ports[1]);
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, "# no Services yet\n");
        await using var backends = await DemoBackends.StartAsync($"127.0.0.84:{backend}");
        await using var standalone = StandaloneRun.Start(file, StateFile, "--restricted-cidr", "127.0.104.0/29");

        Assert.True(await standalone.LoggedAsync($"{file} holds no Service of type LoadBalancer that is ours: nothing to serve until it does"), standalone.ToString());
        Assert.True(await standalone.PrintedAsync("pool 127.0.104.0/29: 0 addresses in use"), standalone.ToString());

        await SaveAsync(file, Documents(Service("a", first, $"127.0.0.84:{backend}"), Service("b", second, $"127.0.0.84:{backend}")));
        Assert.True(await standalone.PrintedAsync($"default/b → 127.0.104.1:{second} → 127.0.0.84:{backend}"), standalone.ToString());
        Assert.Equal($"hello from 127.0.0.84:{backend}", await Net.GetAsync("127.0.104.1", first));

        await SaveAsync(file, "# every Service gone\n");
        Assert.True(await standalone.LoggedAsync($"{file} no longer holds any Service to serve: taking down the 2 that ran"), standalone.ToString());
        Assert.True(await Net.EventuallyAsync(() => standalone.PrintedLines("pool 127.0.104.0/29: 0 addresses in use") == 2, Patience), standalone.ToString());
        Assert.Equal(1, standalone.PrintedLines("removed default/a"));
        Assert.Equal(1, standalone.PrintedLines("removed default/b"));
        Assert.Null(await Net.GetAsync("127.0.104.1", first));
        Assert.Null(await Net.GetAsync("127.0.104.1", second));
        Assert.Equal(0, await standalone.StopAsync());
    }

    [Fact]
    public async Task Standalone_ClassFilter_ServesOnlyItsClass_NotesTheOthers_AndIgnoreUnclassedSkipsClasslessOnes()
    {
        var backend = Net.FreePort("127.0.0.85");
        var ports = FreePorts("127.0.103.1", 3);
        var (ours, theirs, plain) = (ports[0], ports[1], ports[2]);
        var file = Path.Combine(_directory, "services.yaml");
        await SaveAsync(file, Documents(
            Service("ours", ours, $"127.0.0.85:{backend}", loadBalancerClass: "littlelb.io/test"),
            Service("theirs", theirs, $"127.0.0.85:{backend}", loadBalancerClass: "other.example/lb"),
            Service("plain", plain, $"127.0.0.85:{backend}")));
        await using var backends = await DemoBackends.StartAsync($"127.0.0.85:{backend}");
        var hello = $"hello from 127.0.0.85:{backend}";

        // Without a class of its own: the unclassed Service only.
        await using (var standalone = StandaloneRun.Start(file, Path.Combine(_directory, "unclassed.json"), "--restricted-cidr", "127.0.103.0/29"))
        {
            Assert.True(await standalone.PrintedAsync($"default/plain → 127.0.103.1:{plain} → 127.0.0.85:{backend}"), standalone.ToString());
            Assert.Contains(": default/ours: skipped; its spec.loadBalancerClass 'littlelb.io/test' is not ours (none configured)",
                standalone.Output.ToString(), StringComparison.Ordinal);
            Assert.Contains(": default/theirs: skipped; its spec.loadBalancerClass 'other.example/lb' is not ours (none configured)",
                standalone.Output.ToString(), StringComparison.Ordinal);
            Assert.Equal(hello, await Net.GetAsync("127.0.103.1", plain));
            Assert.Null(await Net.GetAsync("127.0.103.1", ours));
            Assert.Null(await Net.GetAsync("127.0.103.1", theirs));
            Assert.Equal(0, await standalone.StopAsync());
        }

        // Its class, and nothing without one.
        await using (var standalone = StandaloneRun.Start(
            file, Path.Combine(_directory, "classed.json"), "--restricted-cidr", "127.0.103.0/29", "--load-balancer-class", "littlelb.io/test", "--ignore-unclassed"))
        {
            Assert.True(await standalone.PrintedAsync($"default/ours → 127.0.103.1:{ours} → 127.0.0.85:{backend}"), standalone.ToString());
            Assert.Contains(": default/theirs: skipped; its spec.loadBalancerClass 'other.example/lb' is not ours ('littlelb.io/test')",
                standalone.Output.ToString(), StringComparison.Ordinal);
            Assert.Contains(": default/plain: skipped; it has no spec.loadBalancerClass and unclassed Services are ignored (--ignore-unclassed)",
                standalone.Output.ToString(), StringComparison.Ordinal);
            Assert.Equal(hello, await Net.GetAsync("127.0.103.1", ours));
            Assert.Null(await Net.GetAsync("127.0.103.1", plain));
            Assert.Null(await Net.GetAsync("127.0.103.1", theirs));
            Assert.Equal(0, await standalone.StopAsync());
        }
    }

    [Fact]
    public async Task Standalone_TheSameRefusedEditAgain_AfterItWasUndone_IsWarnedAboutAgain()
    {
        var backend = Net.FreePort("127.0.0.86");
        var port = Net.FreePort("127.0.107.1");
        var backends = $"127.0.0.86:{backend}";
        var file = Path.Combine(_directory, "services.yaml");
        var good = Documents(Service("web", port, backends), Service("api", port, backends));
        await SaveAsync(file, good);
        await using var demo = await DemoBackends.StartAsync(backends);
        await using var standalone = StandaloneRun.Start(file, StateFile, "--restricted-cidr", "127.0.107.0/29");
        var table = "pool 127.0.107.0/29: 2 addresses in use";
        Assert.True(await standalone.PrintedAsync(table), standalone.ToString());
        var (webIp, apiIp) = (await standalone.IpOfAsync("default/web", port), await standalone.IpOfAsync("default/api", port));
        var bad = Documents(Service("web", 70000, backends), Service("api", port, backends, loadBalancerIp: webIp));

        // Invalid (web) and refused (api asks for web's IP and port): each keeps what ran for it, and is warned about.
        await SaveAsync(file, bad);
        Assert.True(await Net.EventuallyAsync(
            () => standalone.LogLines("default/web InvalidService:") == 1 && standalone.LogLines("default/api ApplyFailed:") == 1, Patience), standalone.ToString());

        // Undone, with a third Service whose line in the table shows that the whole edit has been reconciled (the table
        // is printed when what runs changes, and web and api run as before).
        var marker = Net.FreePort("127.0.107.1");
        await SaveAsync(file, Documents(Service("web", port, backends), Service("api", port, backends), Service("marker", marker, backends)));
        Assert.True(await Net.EventuallyAsync(() => standalone.Output.ToString().Contains("default/marker →", StringComparison.Ordinal), Patience), standalone.ToString());

        // The same mistakes once more are news once more.
        await SaveAsync(file, Documents(Service("web", 70000, backends), Service("api", port, backends, loadBalancerIp: webIp), Service("marker", marker, backends)));
        Assert.True(await Net.EventuallyAsync(
            () => standalone.LogLines("default/web InvalidService:") == 2 && standalone.LogLines("default/api ApplyFailed:") == 2, Patience), standalone.ToString());
        Assert.Equal($"hello from {backends}", await Net.GetAsync(webIp, port));
        Assert.Equal($"hello from {backends}", await Net.GetAsync(apiIp, port));
        Assert.Equal(0, await standalone.StopAsync());
    }
}
