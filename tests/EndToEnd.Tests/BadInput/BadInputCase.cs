using System.Diagnostics;
using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Cluster;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.BadInput;

/// <summary>
/// One Service of a bad-input case on the shared <see cref="BadInputStage"/>: what it must show (its Warning Event,
/// the log line, no status; or served) and that the healthy Service and the daemon were not disturbed meanwhile.
/// Disposing deletes the Service.
/// </summary>
internal sealed class BadInputCase(BadInputStage stage, V1Service service, ITestOutputHelper output) : IAsyncDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly TimeSpan _trafficFrom = stage.Traffic.Now;
    private readonly Stopwatch _sinceCreated = Stopwatch.StartNew();
    private bool _deleted;

    private string Name => service.Name();

    private string Namespace => stage.Cluster.Namespace;

    private IKubernetes Admin => stage.Cluster.Admin;

    /// <summary>
    /// Not served: exactly one Warning Event with <paramref name="reason"/> and <paramref name="note"/>, the same in the
    /// log, and no status written (checked after the Event, when the daemon has decided).
    /// </summary>
    public async Task AssertRefusedAsync(string reason, string note)
    {
        await AssertWarnedAsync(reason, note);
        Assert.Empty(await IngressAsync());
        var state = (await stage.Daemon.StateAsync()).RootElement.GetProperty("state").GetProperty("services").EnumerateArray()
            .Single(entry => entry.GetProperty("namespace").GetString() == Namespace && entry.GetProperty("name").GetString() == Name);
        Assert.Equal(0, state.GetProperty("ips").GetArrayLength());
    }

    /// <summary>One Warning Event with <paramref name="reason"/> and <paramref name="note"/>, and the same in the log.</summary>
    public async Task AssertWarnedAsync(string reason, string note)
    {
        EventLine? warning = null;
        Assert.True(
            await Net.EventuallyAsync(async () => (warning = (await EventsAsync()).FirstOrDefault(e => e.Type == "Warning")) is not null, Limit),
            $"no Warning Event on {Namespace}/{Name} within {Limit.TotalSeconds:F0} s; events: {string.Join(" | ", await EventsAsync())}; {stage.Daemon}");
        output.WriteLine($"figure: {Name}: created to its {warning!.Reason} Event {_sinceCreated.ElapsedMilliseconds} ms");

        output.WriteLine($"{Name}: {warning}");
        Assert.Equal(("Warning", reason, "littlelb.io/load-balancer"), (warning.Type, warning.Reason, warning.Controller));
        Assert.Equal(note, warning.Note);
        var line = $"{Namespace}/{Name} {reason}: {note}";
        Assert.True(await stage.Daemon.Process.LoggedAsync(line, TimeSpan.FromSeconds(10)), $"no log line '{line}'; {stage.Daemon}");
        await AssertOthersUndisturbedAsync();
    }

    /// <summary>Its status holds an IP within the limit and a new connection to it reaches its backend; the IP.</summary>
    public async Task<string> AssertServedAsync()
    {
        var ip = await KubeObjects.IngressEventuallyAsync(Admin, Namespace, Name, Limit, stage.Daemon.ToString);
        var port = service.Spec.Ports[0].Port;
        string? answer = null;
        Assert.True(
            await Net.EventuallyAsync(async () => (answer = await AskAsync(ip, port)) == $"{Name}:who", TimeSpan.FromSeconds(30)),
            $"{Namespace}/{Name} on {ip}:{port} answered '{answer}'; {stage.Daemon}");
        await AssertOthersUndisturbedAsync();
        return ip;
    }

    /// <summary>Edits the Service (a merge patch) into a good one: it is served, and the one Warning was not repeated.</summary>
    public async Task FixAsync(string mergePatch)
    {
        var fixing = Stopwatch.StartNew();
        service = await Admin.CoreV1.PatchNamespacedServiceAsync(new V1Patch(mergePatch, V1Patch.PatchType.MergePatch), Name, Namespace);
        var ip = await AssertServedAsync();
        output.WriteLine($"figure: {Name}: fixed to served on {ip} {fixing.ElapsedMilliseconds} ms");
        await AssertStillOneWarningAsync();
    }

    /// <summary>The Service has had exactly one Warning Event (count 1): not repeated on retries or resyncs.</summary>
    public async Task AssertStillOneWarningAsync()
    {
        var events = await EventsAsync();
        var warning = Assert.Single(events, e => e.Type == "Warning");
        Assert.Equal(1, warning.Count);
        output.WriteLine($"{Name}: events: {string.Join(" | ", events)}");
    }

    public Task<IReadOnlyList<string>> IngressAsync() => KubeObjects.IngressAsync(Admin, Namespace, Name);

    public async Task DeleteAsync()
    {
        if (!_deleted)
        {
            _deleted = true;
            await Admin.CoreV1.DeleteNamespacedServiceAsync(Name, Namespace);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (stage.Cluster.Server.IsRunning)
        {
            await DeleteAsync();
        }
    }

    /// <summary>The healthy Service answered every connection since this case began, and the daemon still runs.</summary>
    private async Task AssertOthersUndisturbedAsync()
    {
        Assert.False(stage.Daemon.Process.HasExited, $"the daemon exited; {stage.Daemon}");
        var failures = stage.Traffic.FailuresSince(_trafficFrom);
        Assert.True(failures.Count == 0, $"the healthy Service was interrupted: {string.Join(", ", failures)}; state: {(await stage.Daemon.StateAsync()).RootElement}; {stage.Daemon}");
        output.WriteLine($"figure: {Name}: {stage.Traffic}");
    }

    private Task<IReadOnlyList<EventLine>> EventsAsync() => KubeObjects.EventsAsync(Admin, Namespace, Name);

    private static async Task<string?> AskAsync(string ip, int port)
    {
        using var connection = await EchoConnection.OpenAsync(ip, port);
        return connection is null ? null : await connection.AskAsync("who");
    }
}
