using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Host.Forward;

namespace LoadBalancer.Host.Tests.Forward;

/// <summary>
/// What <c>dotnet publish src/Host</c> ships: the daemon with the native forwarder beside it, and <c>loadbalancer
/// forward</c> becoming it. A trimmed configuration binder once bound nothing in a native build (<c>--engine copy</c> ran
/// splice, <c>--engine bogus</c> was accepted) while every in-process test passed: these run the published binaries.
/// Published once per test run (Release, as shipped); on 127.0.141.0/24, ports 18400-18499.
/// </summary>
public sealed class NativeForwarderTests
{
    private const string Listen = "127.0.141.20";
    private const string Backend = "127.0.141.21";

    [NativeToolchainFact]
    public async Task Publish_ShipsTheNativeForwarderBesideTheDaemon()
    {
        var directory = await PublishedDaemon.DirectoryAsync();
        var forwarder = Path.Combine(directory, NativeForwarder.FileName);

        Assert.True(File.Exists(forwarder), $"{forwarder} was not published");
        var magic = new byte[4];
        await using (var file = File.OpenRead(forwarder))
        {
            await file.ReadExactlyAsync(magic);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), magic);
    }

    [NativeToolchainFact]
    public async Task Forward_EngineBogus_IsRefusedNamingTheKeyAndTheQuotedValue()
    {
        using var daemon = await PublishedProcess.StartAsync(
            "forward", "--listen", $"{Listen}:18420", "--backend", $"{Backend}:18421", "--engine", "bogus");

        Assert.Equal(2, await daemon.ExitCodeAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("error: engine: 'bogus' must be io_uring, splice or copy (flag --engine)", daemon.Error, StringComparison.Ordinal);
    }

    [NativeToolchainTheory]
    [InlineData("copy", null, 18422)]
    [InlineData(null, "splice", 18424)]
    public async Task Forward_RunsAsTheNativeForwarder_WithTheEngineConfigured_ForwardsBytes_AndExitsZeroOnSigterm(
        string? flag, string? environment, int port)
    {
        var engine = flag ?? environment!;
        using var backend = new EchoBackend(new IPEndPoint(IPAddress.Parse(Backend), port + 1));
        string[] args = ["forward", "--listen", $"{Listen}:{port}", "--backend", $"{Backend}:{port + 1}", "--no-health-check"];
        using var daemon = await PublishedProcess.StartAsync(
            flag is null ? args : [.. args, "--engine", flag],
            environment is null ? null : new Dictionary<string, string> { ["LITTLELB_ENGINE"] = environment });

        Assert.True(await Net.EventuallyAsync(() => daemon.Output.Contains("forwarding", StringComparison.Ordinal) || daemon.HasExited, TimeSpan.FromSeconds(30)), daemon.ToString());
        Assert.Contains($"(round-robin, {engine}; Ctrl-C stops)", daemon.Output, StringComparison.Ordinal);
        Assert.EndsWith("/" + NativeForwarder.FileName, daemon.Executable(), StringComparison.Ordinal);

        var sent = new byte[256 * 1024];
        Random.Shared.NextBytes(sent);
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Parse(Listen), port);
            var stream = client.GetStream();
            var writing = stream.WriteAsync(sent).AsTask();
            var received = new byte[sent.Length];
            await stream.ReadExactlyAsync(received).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            await writing;
            Assert.Equal(sent, received);
        }

        // The goal this binary exists for (docs/adr/0011-memory-footprint.md): about 14 MiB measured; the framework-
        // dependent forwarder was 46, the whole daemon compiled natively 56.
        Assert.InRange(daemon.ResidentKiB(), 1, 30 * 1024);

        daemon.Signal("TERM");
        Assert.Equal(0, await daemon.ExitCodeAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Accepts connections and sends back what each sends, until disposed.</summary>
    private sealed class EchoBackend : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();

        public EchoBackend(IPEndPoint endPoint)
        {
            _listener = new TcpListener(endPoint);
            _listener.Start();
            _ = AcceptAsync();
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var connection = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = EchoAsync(connection);
                }
            }
            catch (Exception stopped) when (stopped is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }

        private async Task EchoAsync(TcpClient connection)
        {
            using (connection)
            {
                try
                {
                    await connection.GetStream().CopyToAsync(connection.GetStream(), _stop.Token);
                }
                catch (Exception ended) when (ended is IOException or OperationCanceledException or ObjectDisposedException)
                {
                }
            }
        }
    }
}

/// <summary>
/// <c>dotnet publish src/Host -c Release</c> into the tests' output, once per test run, as the Dockerfile and
/// bench/ publish it: the framework-dependent daemon with the native forwarder beside it.
/// </summary>
internal static class PublishedDaemon
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public static Task<string> DirectoryAsync() => Published.Value;

    private static async Task<string> PublishAsync()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "published-daemon");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", LoadBalancer.Tests.Shared.RepositoryRoot.Combine("src", "Host", "LoadBalancer.Host.csproj"),
                     "-c", "Release", "-o", output, "--disable-build-servers", "-nologo" })
        {
            start.ArgumentList.Add(arg);
        }

        using var publish = Process.Start(start)!;
        var stdout = publish.StandardOutput.ReadToEndAsync();
        var stderr = publish.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        await publish.WaitForExitAsync(limit.Token);
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish src/Host exited {publish.ExitCode}:\n{await stdout}\n{await stderr}");
        }

        return output;
    }
}

/// <summary>The published <c>loadbalancer</c> as a child process (its apphost, as a user or systemd starts it).</summary>
internal sealed class PublishedProcess : IDisposable
{
    private readonly Process _process;
    private readonly SharedWriter _output = new();
    private readonly SharedWriter _error = new();

    private readonly DirectoryInfo _workingDirectory;

    private PublishedProcess(Process process, DirectoryInfo workingDirectory) => (_process, _workingDirectory) = (process, workingDirectory);

    public string Output => _output.ToString();

    public string Error => _error.ToString();

    public bool HasExited => _process.HasExited;

    public static async Task<PublishedProcess> StartAsync(params string[] args) => await StartAsync(args, null);

    public static async Task<PublishedProcess> StartAsync(string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var directory = await PublishedDaemon.DirectoryAsync();
        // From an empty place: no ./config.json of the test run is picked up.
        var workingDirectory = Directory.CreateTempSubdirectory("littlelb-native-");
        var start = new ProcessStartInfo(Path.Combine(directory, "loadbalancer"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory.FullName,
        };
        foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("LITTLELB_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var daemon = new PublishedProcess(process, workingDirectory);
        process.OutputDataReceived += (_, line) => daemon._output.WriteLine(line.Data);
        process.ErrorDataReceived += (_, line) => daemon._error.WriteLine(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    /// <summary>The program the process runs now (after an exec, the new one).</summary>
    public string Executable() => new FileInfo($"/proc/{_process.Id}/exe").LinkTarget ?? "";

    /// <summary>VmRSS from /proc/PID/status.</summary>
    public long ResidentKiB() =>
        File.ReadLines($"/proc/{_process.Id}/status")
            .Where(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture))
            .Single();

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> ExitCodeAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public override string ToString() => $"exited: {_process.HasExited}\nstdout:\n{Output}\nstderr:\n{Error}";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        _output.Dispose();
        _error.Dispose();
        _workingDirectory.Delete(recursive: true);
    }
}

/// <summary>
/// Native AOT links with the system's C compiler (gcc or clang); where there is none, the native forwarder cannot be
/// built, and these tests say so instead of failing (CI installs gcc, .ci/run, so they run there).
/// </summary>
internal static class NativeToolchain
{
    public static string? Missing { get; } =
        new[] { "gcc", "clang" }.Any(OnPath) ? null : "needs a C compiler for Native AOT's link (gcc or clang): apt-get install gcc";

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, program)));
}

internal sealed class NativeToolchainFactAttribute : FactAttribute
{
    public NativeToolchainFactAttribute() => Skip = NativeToolchain.Missing;
}

internal sealed class NativeToolchainTheoryAttribute : TheoryAttribute
{
    public NativeToolchainTheoryAttribute() => Skip = NativeToolchain.Missing;
}
