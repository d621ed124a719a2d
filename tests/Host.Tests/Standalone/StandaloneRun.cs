namespace LoadBalancer.Host.Tests.Standalone;

/// <summary>
/// <c>loadbalancer standalone</c> in-process, with its state file where the test says (never the default place), its
/// standard output and error kept for the test to read.
/// </summary>
internal sealed class StandaloneRun : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(120));

    private StandaloneRun(string file, string stateFile, string[] flags)
    {
        Run = Support.InProcess.RunAsync(["standalone", file, "--state-file", stateFile, .. flags], Output, Error, _stop.Token);
    }

    public SharedWriter Output { get; } = new();

    public SharedWriter Error { get; } = new();

    public Task<int> Run { get; }

    public static StandaloneRun Start(string file, string stateFile, params string[] flags) => new(file, stateFile, flags);

    /// <summary>Whether standard output shows <paramref name="text"/> within <see cref="Patience"/>.</summary>
    public Task<bool> PrintedAsync(string text) =>
        Net.EventuallyAsync(() => Output.ToString().Contains(text, StringComparison.Ordinal), Patience);

    /// <summary>Whether standard error (the log) shows <paramref name="text"/> within <see cref="Patience"/>.</summary>
    public Task<bool> LoggedAsync(string text) =>
        Net.EventuallyAsync(() => Error.ToString().Contains(text, StringComparison.Ordinal), Patience);

    /// <summary>The lines of standard error that contain <paramref name="text"/>.</summary>
    public int LogLines(string text) => Lines(Error).Count(line => line.Contains(text, StringComparison.Ordinal));

    /// <summary>The lines of standard output that are exactly <paramref name="line"/>.</summary>
    public int PrintedLines(string line) => Lines(Output).Count(printed => printed == line);

    /// <summary>The IP the printed table gives <paramref name="service"/> on <paramref name="port"/>, once it is printed.</summary>
    public async Task<string> IpOfAsync(string service, int port)
    {
        string? ip = null;
        Assert.True(await Net.EventuallyAsync(() => (ip = Table.IpOf(Output.ToString(), service, port)) is not null, Patience), ToString());
        return ip!;
    }

    /// <summary>Ctrl-C: takes every Service down and returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public override string ToString() => $"output:\n{Output}\nerror:\n{Error}";

    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
        {
            await _stop.CancelAsync();
            try
            {
                await Run.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception failure) when (failure is TimeoutException or OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        Output.Dispose();
        Error.Dispose();
    }

    private static string[] Lines(SharedWriter writer) => writer.ToString().ReplaceLineEndings("\n").Split('\n');
}

/// <summary><c>loadbalancer demo-backend</c> in-process: answers <c>hello from IP:PORT</c> on each address until disposed.</summary>
internal sealed class DemoBackends : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(120));
    private readonly Task<int> _run;

    private DemoBackends(string[] endpoints)
    {
        _run = Support.InProcess.RunAsync(["demo-backend", .. endpoints.SelectMany(endpoint => new[] { "--listen", endpoint })], TextWriter.Null, TextWriter.Null, _stop.Token);
    }

    /// <param name="endpoints"><c>IP:PORT</c> each.</param>
    public static async Task<DemoBackends> StartAsync(params string[] endpoints)
    {
        var backends = new DemoBackends(endpoints);
        var (ip, port) = Split(endpoints[^1]);
        Assert.True(await Net.EventuallyAsync(async () => await Net.GetAsync(ip, port) is not null, StandaloneRun.Patience), $"demo backend {endpoints[^1]} did not answer");
        return backends;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private static (string Ip, int Port) Split(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return (endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>Services of a standalone file, written as an operator writes them.</summary>
internal static class Manifests
{
    public static string Service(string name, int port, string backends, string? loadBalancerClass = null, string? loadBalancerIp = null) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
          annotations:
            littlelb.io/backends: "{backends}"
            littlelb.io/health-check-enabled: "false"
        spec:
          type: LoadBalancer
        {(loadBalancerClass is null ? string.Empty : $"  loadBalancerClass: {loadBalancerClass}\n")}{(loadBalancerIp is null ? string.Empty : $"  loadBalancerIP: {loadBalancerIp}\n")}  ports:
            - port: {port}

        """;

    /// <summary>
    /// Replaces <paramref name="file"/> at once (a new file renamed over it), as many editors save: the daemon never reads a
    /// file half written, which on a loaded machine it could between a truncate and the write that follows.
    /// </summary>
    public static async Task SaveAsync(string file, string text)
    {
        var next = file + ".next";
        await System.IO.File.WriteAllTextAsync(next, text);
        System.IO.File.Move(next, file, overwrite: true);
    }

    /// <summary>Documents one after the other, separated by <c>---</c>.</summary>
    public static string Documents(params string[] documents) => string.Join("---\n", documents);

    /// <summary><paramref name="count"/> different ports that were free a moment ago on <paramref name="ip"/>.</summary>
    public static int[] FreePorts(string ip, int count)
    {
        var ports = new HashSet<int>();
        while (ports.Count < count)
        {
            ports.Add(Net.FreePort(ip));
        }

        return [.. ports];
    }
}
