namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// The standalone mode in-process on real loopback sockets: demo backends on 127.0.0.8x, Services on 127.0.100.x,
/// the file edited under it.
/// </summary>
public sealed class StandaloneEndToEndTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-standalone-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Standalone_ServesTheFile_AppliesEdits_KeepsStateOnABadFile_AndReleasesOnCancel()
    {
        var (one, two) = (Net.FreePort("127.0.0.81"), Net.FreePort("127.0.0.82"));
        var webPort = Net.FreePort("127.0.100.201");
        var apiPort = Net.FreePort("127.0.100.201");
        for (var retry = 0; apiPort == webPort && retry < 10; retry++)
        {
            apiPort = Net.FreePort("127.0.100.201");
        }

        var file = Path.Combine(_directory, "services.yaml");
        await File.WriteAllTextAsync(file, Service("web", webPort, $"127.0.0.81:{one}, 127.0.0.82:{two}"));
        using var output = new SharedWriter();
        using var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var backends = LoadBalancerApp.RunAsync(["demo-backend", "--listen", $"127.0.0.81:{one}", "--listen", $"127.0.0.82:{two}"], TextWriter.Null, TextWriter.Null, stop.Token);
        var standalone = LoadBalancerApp.RunAsync(["standalone", file, "--restricted-cidr", "127.0.100.200/29"], output, error, stop.Token);
        try
        {
            // Started: the printed line says where to send a request, and requests reach both backends.
            var webLine = $"default/web → 127.0.100.201:{webPort} → 127.0.0.81:{one}, 127.0.0.82:{two}";
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains(webLine, StringComparison.Ordinal), Patience), $"{output}\n{error}");
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.0.82", two) is not null, Patience));
            var answers = new HashSet<string?>();
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await Net.GetAsync("127.0.100.201", webPort));
            }

            Assert.Equal([$"hello from 127.0.0.81:{one}", $"hello from 127.0.0.82:{two}"], answers.Order(StringComparer.Ordinal));

            // Edited: web keeps only the second backend, and a second Service shares the IP on another port.
            await File.WriteAllTextAsync(file, Service("web", webPort, $"127.0.0.82:{two}") + "---\n" + Service("api", apiPort, $"127.0.0.81:{one}"));
            Assert.True(await Net.EventuallyAsync(
                async () => await Net.GetAsync("127.0.100.201", apiPort) == $"hello from 127.0.0.81:{one}", Patience), $"{output}\n{error}");
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal($"hello from 127.0.0.82:{two}", await Net.GetAsync("127.0.100.201", webPort));
            }

            // Broken: reported, and everything keeps running as it was.
            await File.WriteAllTextAsync(file, Service("web", 70000, $"127.0.0.82:{two}"));
            Assert.True(await Net.EventuallyAsync(() => error.ToString().Contains("keeping the 2 running services as they are", StringComparison.Ordinal), Patience), $"{output}\n{error}");
            Assert.Contains("document 1 (default/web): spec.ports[0].port: port 70000 must be between 1 and 65535", error.ToString(), StringComparison.Ordinal);
            Assert.Equal($"hello from 127.0.0.82:{two}", await Net.GetAsync("127.0.100.201", webPort));
            Assert.Equal($"hello from 127.0.0.81:{one}", await Net.GetAsync("127.0.100.201", apiPort));

            // Removed: api leaves when the file no longer has it.
            await File.WriteAllTextAsync(file, Service("web", webPort, $"127.0.0.82:{two}"));
            Assert.True(await Net.EventuallyAsync(() => output.ToString().Contains("removed default/api", StringComparison.Ordinal), Patience), $"{output}\n{error}");
            Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync("127.0.100.201", apiPort) is null, Patience));
        }
        finally
        {
            await stop.CancelAsync();
            var exitCode = await standalone.WaitAsync(TimeSpan.FromSeconds(30));
            await backends.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(0, exitCode);
        }

        Assert.Null(await Net.GetAsync("127.0.100.201", webPort));
    }

    [Fact]
    public async Task Standalone_BadFileAtStart_ExitsOneServingNothing()
    {
        var file = Path.Combine(_directory, "bad.yaml");
        await File.WriteAllTextAsync(file, Service("web", 80, "127.0.0.1:notaport"));
        using var error = new SharedWriter();

        var exitCode = await LoadBalancerApp.RunAsync(["standalone", file], TextWriter.Null, error, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(1, exitCode);
        Assert.Contains(
            $"error: {file}: document 1 (default/web): annotation littlelb.io/backends: '127.0.0.1:notaport': port 'notaport' must be a number from 1 to 65535",
            error.ToString(), StringComparison.Ordinal);
        Assert.Contains("not applied (1 problem); nothing applied", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Standalone_MissingFile_ExitsOneNamingIt()
    {
        var file = Path.Combine(_directory, "absent.yaml");
        using var error = new SharedWriter();

        var exitCode = await LoadBalancerApp.RunAsync(["--standalone", file], TextWriter.Null, error, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: {file}: cannot read the file", error.ToString(), StringComparison.Ordinal);
    }

    private static string Service(string name, int port, string backends) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
          annotations:
            littlelb.io/backends: "{backends}"
            littlelb.io/health-check-enabled: "false"
        spec:
          type: LoadBalancer
          ports:
            - port: {port}

        """;
}
