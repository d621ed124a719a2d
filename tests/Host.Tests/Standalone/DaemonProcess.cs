using System.Diagnostics;
using System.Text.RegularExpressions;

namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// The real <c>loadbalancer</c> as a child process (<c>dotnet loadbalancer.dll ...</c>), the build this test run
/// compiled. Disposing it kills that process, and only it, if it still runs.
/// </summary>
internal sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly Stopwatch _since = Stopwatch.StartNew();

    // Daemons started and not yet disposed, killed at exit should a test (or a fixture xunit never disposes) leave any:
    // a leftover daemon keeps its addresses and ports and would serve the next run's clients.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<DaemonProcess, byte> Live = new();

    static DaemonProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var daemon in Live.Keys)
        {
            daemon.Dispose();
        }
    };

    private DaemonProcess(Process process) => _process = process;

    /// <summary>Every line of both streams, with the time since the start: what a slow run spent its time on.</summary>
    public SharedWriter Timeline { get; } = new();

    public SharedWriter Output { get; } = new();

    public SharedWriter Error { get; } = new();

    public bool HasExited => _process.HasExited;

    /// <summary>The process id: which process holds a socket (<c>ss -p</c>) is told by it.</summary>
    public int Id => _process.Id;

    /// <summary>
    /// Removes the variables the daemon reads its configuration from (the original's names among them), so that the
    /// test runner's environment does not change what a test starts.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> WithoutConfigurationVariables { get; } = new Dictionary<string, string?>
    {
        ["DEBUG"] = null, ["RESTRICTED_CIDR"] = null, ["LINK_DEVICE"] = null, ["LINKDEVICE"] = null, ["AUTOCFG_FILENAME"] = null,
    };

    public static DaemonProcess Start(params string[] args) => Start(null, args);

    /// <param name="environment">Variables to set (a null value removes one) on top of this process's.</param>
    public static DaemonProcess Start(IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        StartUnder([], environment, args);

    /// <param name="launcher">A program and its arguments that run the daemon (e.g. <c>setpriv</c> dropping a capability);
    /// empty runs it directly.</param>
    public static DaemonProcess StartUnder(IReadOnlyList<string> launcher, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(launcher.Count > 0 ? launcher[0] : DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // Many daemons run at once and would all try the admin endpoint's default 127.0.0.1:9090; its own tests give
        // --admin-address, which wins over this.
        start.Environment["LITTLELB_ADMINADDRESS"] = "none";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        foreach (var arg in launcher.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        if (launcher.Count > 0)
        {
            start.ArgumentList.Add(DotnetHost());
        }

        start.ArgumentList.Add(Dll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var daemon = new DaemonProcess(process);
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                daemon.Output.WriteLine(line.Data);
                daemon.Timeline.WriteLine($"{daemon._since.Elapsed.TotalSeconds,7:F3} out {line.Data}");
            }
        };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not null)
            {
                daemon.Error.WriteLine(line.Data);
                daemon.Timeline.WriteLine($"{daemon._since.Elapsed.TotalSeconds,7:F3} err {line.Data}");
            }
        };
        try
        {
            process.Start();
            Live.TryAdd(daemon, 0);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return daemon;
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    /// <summary>The IP the printed table gives <paramref name="service"/> on <paramref name="port"/>, once it is printed.</summary>
    public async Task<string> IpOfAsync(string service, int port, TimeSpan limit)
    {
        string? ip = null;
        var found = await Net.EventuallyAsync(() => (ip = Table.IpOf(Output.ToString(), service, port)) is not null || _process.HasExited, limit);
        return found && ip is not null ? ip : throw new TimeoutException($"no line for {service} on port {port} within {limit}; {this}");
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, HUP, USR1 …) to this process alone.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The exit code, once the process has exited within <paramref name="limit"/>.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Whether standard error (the log) shows <paramref name="text"/> within <paramref name="limit"/>.</summary>
    public Task<bool> LoggedAsync(string text, TimeSpan limit) =>
        Net.EventuallyAsync(() => Error.ToString().Contains(text, StringComparison.Ordinal) || _process.HasExited, limit)
            .ContinueWith(_ => Error.ToString().Contains(text, StringComparison.Ordinal), TaskScheduler.Default);

    /// <summary>SIGKILL to this process alone: no stand-down, nothing cleaned up, as in a crash or an OOM kill.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"process {_process.Id} did not exit after SIGKILL");
        }
    }

    public override string ToString() => $"exited: {_process.HasExited}\n{Timeline}";

    public void Dispose()
    {
        Live.TryRemove(this, out _);
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
        Output.Dispose();
        Error.Dispose();
        Timeline.Dispose();
    }

    /// <summary>The dotnet host that runs these tests (the CLI tells its children where it is), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>
    /// src/Host's output of the configuration and framework these tests were built with
    /// (tests/Host.Tests/bin/Debug/net10.0 → src/Host/bin/Debug/net10.0/loadbalancer.dll); the project reference builds it.
    /// </summary>
    private static string Dll()
    {
        var output = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var (framework, configuration) = (output.Name, output.Parent?.Name ?? "Debug");
        var dll = LoadBalancer.Tests.Shared.RepositoryRoot.Combine("src", "Host", "bin", configuration, framework, "loadbalancer.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"the daemon is not built at {dll}", dll);
    }
}

/// <summary>Reads the table the standalone mode prints: <c>default/web → IP:PORT → backends</c>.</summary>
internal static class Table
{
    /// <summary>The IP of the last line for <paramref name="service"/> on <paramref name="port"/>; null when there is none.</summary>
    public static string? IpOf(string output, string service, int port) =>
        new Regex($@"^{Regex.Escape(service)} → (?<ip>[0-9.]+):{port} → ", RegexOptions.Multiline)
            .Matches(output.ReplaceLineEndings("\n")).LastOrDefault()?.Groups["ip"].Value;
}
