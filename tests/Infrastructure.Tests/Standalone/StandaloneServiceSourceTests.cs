using System.Net;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Standalone;
using LoadBalancer.Infrastructure.Standalone.State;
using Microsoft.Extensions.Logging;
using NSubstitute;

namespace LoadBalancer.Infrastructure.Tests.Standalone;

public sealed class StandaloneServiceSourceTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly ServiceKey Web = new("default", "web");
    private static readonly ServiceKey Api = new("default", "api");
    private static readonly ServiceKey Dns = new("default", "dns");

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"littlelb-source-{Guid.NewGuid():N}");
    private readonly WatcherClock _time = new();
    private readonly IReconcileQueue _queue = Substitute.For<IReconcileQueue>();
    private readonly ConsoleLines _output = new();
    private readonly ConsoleLines _error = new();
    private readonly CapturingLogger<StandaloneServiceSource> _logger = new();
    private readonly CancellationTokenSource _stopping = new();
    private StandaloneServiceSource _source = null!;
    private StandaloneStateFile _state = null!;
    private Task _running = Task.CompletedTask;

    private string FilePath => Path.Combine(_directory, "services.yaml");

    private string StatePath => Path.Combine(_directory, "state", "state.json");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _running.WaitAsync(Deadline);
        Directory.Delete(_directory, recursive: true);
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _output.Dispose();
        _error.Dispose();
    }

    // ---- start ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Start_GoodFile_IsReady_WithItsServices_AndQueuesNothing()
    {
        WriteFile(Service("web", "127.0.0.1:9001"), Service("api", "127.0.0.1:9002"));

        await StartAsync();

        Assert.Equal([Api, Web], _source.Keys().Order());
        var web = _source.Find(Web);
        Assert.NotNull(web);
        Assert.Equal(["127.0.0.1:9001"], Assert.Single(web.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
        Assert.Null(_source.Find(Dns));
        // The term that follows looks at every Service anyway.
        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
        _queue.DidNotReceive().EnqueueAll();
        Assert.Empty(_error.Lines);
    }

    [Fact]
    public async Task Start_StateThatFailsUnexpectedly_FaultsReady_InsteadOfLeavingTheDaemonWaiting()
    {
        WriteFile(Service("web", "127.0.0.1:9001"));
        var state = new BrokenState();
        var options = new StandaloneOptions { File = FilePath, PollInterval = PollInterval, Debounce = TimeSpan.Zero };
        _source = new StandaloneServiceSource(options, state, _queue, new StandaloneConsole(_output, _error), _time, _logger);

        _running = _source.RunAsync(_stopping.Token);

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => _source.Ready.WaitAsync(Deadline));
        Assert.Equal("a bug", thrown.Message);
    }

    [Fact]
    public async Task Start_MissingFile_FaultsReady_AndSaysWhy()
    {
        await StartAsync(expectReady: false);

        await Assert.ThrowsAsync<InvalidDataException>(() => _source.Ready.WaitAsync(Deadline));
        Assert.Contains($"error: {FilePath}: no such file", _error.Lines);
        Assert.Contains($"error: {FilePath}: not applied (1 problem); nothing applied", _error.Lines);
        await _running.WaitAsync(Deadline);
    }

    [Fact]
    public async Task Start_FileThatIsADirectory_FaultsReady_AndSaysWhy()
    {
        Directory.CreateDirectory(FilePath);

        await StartAsync(expectReady: false);

        await Assert.ThrowsAsync<InvalidDataException>(() => _source.Ready.WaitAsync(Deadline));
        Assert.Contains($"error: {FilePath}: is a directory; name the YAML file in it", _error.Lines);
    }

    [Fact]
    public async Task Start_BrokenYaml_FaultsReady_AndNamesTheLineAndColumn()
    {
        File.WriteAllText(FilePath, "apiVersion: v1\nkind: Service\nmetadata: [unclosed\n");

        await StartAsync(expectReady: false);

        await Assert.ThrowsAsync<InvalidDataException>(() => _source.Ready.WaitAsync(Deadline));
        Assert.Contains(_error.Lines, line => line.StartsWith($"error: {FilePath}:4: YAML syntax error at column ", StringComparison.Ordinal));
        Assert.Contains($"error: {FilePath}: not applied (1 problem); nothing applied", _error.Lines);
    }

    [Fact]
    public async Task Start_NoLoadBalancerService_IsReady_AndSaysThereIsNothingToServe()
    {
        WriteFile("""
            apiVersion: v1
            kind: Service
            metadata:
              name: internal
            spec:
              ports:
                - port: 80
            """);

        await StartAsync();

        Assert.Empty(_source.Keys());
        Assert.Contains($"note: {FilePath}:1: default/internal: spec.type ClusterIP skipped; only type LoadBalancer is served", _output.Lines);
        var warning = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 3092);
        Assert.Equal((LogLevel.Warning, $"{FilePath} holds no Service of type LoadBalancer that is ours: nothing to serve until it does"), (warning.Level, warning.Message));
    }

    [Fact]
    public async Task Start_ServiceOfAnotherClass_IsSkippedWithANote()
    {
        WriteFile(Service("web", "127.0.0.1:9001"), Service("api", "127.0.0.1:9002", loadBalancerClass: "example.com/other-lb"));

        await StartAsync();

        Assert.Equal([Web], _source.Keys());
        Assert.Contains(_output.Lines, line => line.StartsWith($"note: {FilePath}:", StringComparison.Ordinal)
            && line.EndsWith(": default/api: skipped; its spec.loadBalancerClass 'example.com/other-lb' is not ours (none configured)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_IgnoreUnclassed_ServesOnlyOurClass()
    {
        WriteFile(Service("web", "127.0.0.1:9001"), Service("api", "127.0.0.1:9002", loadBalancerClass: "littlelb.io/lb"));

        await StartAsync(reading: new StandaloneFileOptions { LoadBalancerClass = "littlelb.io/lb", ServeUnclassed = false });

        Assert.Equal([Api], _source.Keys());
        Assert.Contains($"note: {FilePath}:1: default/web: skipped; it has no spec.loadBalancerClass and unclassed Services are ignored (--ignore-unclassed)", _output.Lines);
    }

    // ---- the record: the state file -----------------------------------------------------------------------------

    [Fact]
    public async Task Start_StateOfServicesNoLongerInTheFile_IsDropped_AndTheRestIsTheRecord()
    {
        await SeedStateAsync((Web, "127.0.100.10"), (Api, "127.0.100.11"), (Dns, "127.0.100.12"));
        WriteFile(Service("web", "127.0.0.1:9001"), Service("dns", "127.0.0.1:9003"), Service("new", "127.0.0.1:9004"));

        await StartAsync();

        Assert.Equal([IPAddress.Parse("127.0.100.10")], _source.RecordedIps(Web));
        Assert.Equal([IPAddress.Parse("127.0.100.12")], _source.RecordedIps(Dns));
        Assert.Empty(_source.RecordedIps(Api));
        Assert.Empty(_source.RecordedIps(new ServiceKey("default", "new")));
        Assert.Equal(
            [("default/dns", "127.0.100.12"), ("default/web", "127.0.100.10")],
            _source.Recorded().Select(restored => (restored.Service.Key.ToString(), restored.Ip)).Order());

        // Dropped on disk too, so a later start does not restore it either.
        var reread = new StandaloneStateFile(new StandaloneStateOptions { Path = StatePath }, TimeProvider.System, new CapturingLogger<StandaloneStateFile>());
        Assert.Equal([Dns, Web], (await reread.LoadAsync(CancellationToken.None)).Keys.Order());
    }

    [Fact]
    public async Task RecordedIp_FollowsWritesToTheState()
    {
        WriteFile(Service("web", "127.0.0.1:9001"));
        await StartAsync();
        Assert.Empty(_source.RecordedIps(Web));

        await _state.WriteAsync(Web, IPAddress.Parse("127.0.100.10"), CancellationToken.None);

        Assert.Equal([IPAddress.Parse("127.0.100.10")], _source.RecordedIps(Web));
        Assert.Equal("127.0.100.10", Assert.Single(_source.Recorded()).Ip);
    }

    // ---- edits ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Edit_QueuesOnlyTheServicesThatChangedOrWereRemoved()
    {
        WriteFile(Service("web", "127.0.0.1:9001"), Service("api", "127.0.0.1:9002"), Service("dns", "127.0.0.1:9003"));
        await StartAsync();

        // web gets another backend, api goes, dns stays as it was, new comes.
        WriteFile(Service("web", "127.0.0.1:9011"), Service("dns", "127.0.0.1:9003"), Service("new", "127.0.0.1:9004"));
        var applied = await DriveUntilAsync(_source.Applied.ReadAsync().AsTask());

        Assert.Equal([Api], applied.Removed);
        _queue.Received(1).Enqueue(Web);
        _queue.Received(1).Enqueue(Api);
        _queue.Received(1).Enqueue(new ServiceKey("default", "new"));
        _queue.DidNotReceive().Enqueue(Dns);
        _queue.DidNotReceive().EnqueueAll();
        Assert.Equal([Dns, new ServiceKey("default", "new"), Web], _source.Keys().Order());
        Assert.Equal(["127.0.0.1:9011"], Assert.Single(_source.Find(Web)!.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
        Assert.Null(_source.Find(Api));
    }

    [Fact]
    public async Task ReadNow_ReadsAnEditTheWatcherWasNotToldOf_WithoutWaitingForThePoll()
    {
        WriteFile(Service("web", "127.0.0.1:9001"));
        await StartAsync();
        await _time.TimerCreatedAsync(0).WaitAsync(Deadline);

        // Through a hard link in another directory: inotify reports changes by the path used, so the watcher on the
        // file's directory hears nothing, and the fake clock is never advanced to the poll. Only ReadNow can find it.
        var elsewhere = Path.Combine(_directory, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        var link = Path.Combine(elsewhere, "services.yaml");
        Assert.Equal(0, Link(FilePath, link));
        await using (var stream = new FileStream(link, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(0);
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(Service("web", "127.0.0.1:9011")));
        }

        var applied = _source.Applied.ReadAsync().AsTask();
        ((IServicesFileReader)_source).ReadNow();

        await applied.WaitAsync(Deadline);
        Assert.Equal(["127.0.0.1:9011"], Assert.Single(_source.Find(Web)!.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string created);

    [Fact]
    public async Task Edit_ThatChangesNothing_QueuesNothing()
    {
        WriteFile(Service("web", "127.0.0.1:9001"));
        await StartAsync();

        // Another comment: the bytes differ, what it asks for does not.
        WriteFile("# reformatted\n" + Service("web", "127.0.0.1:9001"));
        var applied = await DriveUntilAsync(_source.Applied.ReadAsync().AsTask());

        Assert.Empty(applied.Removed);
        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
    }

    [Fact]
    public async Task Edit_ThatIsBroken_IsReported_QueuesNothing_AndKeepsTheServices()
    {
        WriteFile(Service("web", "127.0.0.1:9001"), Service("api", "127.0.0.1:9002"));
        await StartAsync();

        WriteFile(Service("web", "127.0.0.1:9011") + "\n---\nkind: Service\nmetadata: [unclosed\n");
        await DriveUntilAsync(_error.WaitForLineAsync(line => line.Contains("not applied", StringComparison.Ordinal), Deadline));

        Assert.Contains(_error.Lines, line => line.StartsWith($"error: {FilePath}:", StringComparison.Ordinal) && line.Contains(": YAML syntax error at column ", StringComparison.Ordinal));
        Assert.Contains($"error: {FilePath}: not applied (1 problem); keeping the 2 services of the last good version as they are", _error.Lines);
        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
        _queue.DidNotReceive().EnqueueAll();
        Assert.Equal([Api, Web], _source.Keys().Order());
        Assert.Equal(["127.0.0.1:9001"], Assert.Single(_source.Find(Web)!.Backends).Endpoints.Select(endpoint => endpoint.ToString()));
    }

    [Fact]
    public async Task Edit_FileRemovedThenRestored_IsReported_AndTheServicesStayAsTheyWere()
    {
        WriteFile(Service("web", "127.0.0.1:9001"));
        await StartAsync();

        File.Delete(FilePath);
        await DriveUntilAsync(_error.WaitForLineAsync(line => line.Contains("not applied", StringComparison.Ordinal), Deadline));
        WriteFile(Service("web", "127.0.0.1:9001"));
        var applied = await DriveUntilAsync(_source.Applied.ReadAsync().AsTask());

        Assert.Contains($"error: {FilePath}: no such file", _error.Lines);
        Assert.Contains($"error: {FilePath}: not applied (1 problem); keeping the 1 service of the last good version as they are", _error.Lines);
        Assert.Equal([Web], _source.Keys());
        _queue.DidNotReceiveWithAnyArgs().Enqueue(default!);
    }

    [Fact]
    public async Task Edit_RemovingEveryService_QueuesThemAll_AndWarnsWithTheCount()
    {
        WriteFile(Service("web", "127.0.0.1:9001"), Service("api", "127.0.0.1:9002"));
        await StartAsync();

        WriteFile("# nothing to serve for now\n");
        var applied = await DriveUntilAsync(_source.Applied.ReadAsync().AsTask());

        Assert.Equal([Api, Web], applied.Removed.Order());
        _queue.Received(1).Enqueue(Web);
        _queue.Received(1).Enqueue(Api);
        Assert.Empty(_source.Keys());
        var warning = Assert.Single(_logger.Entries, entry => entry.EventId.Id == 3093);
        Assert.Equal((LogLevel.Warning, $"{FilePath} no longer holds any Service to serve: taking down the 2 that ran"), (warning.Level, warning.Message));
    }

    [Fact]
    public async Task Stop_EndsTheRun_AndCompletesApplied()
    {
        WriteFile(Service("web", "127.0.0.1:9001"));
        await StartAsync();

        await _stopping.CancelAsync();
        await _running.WaitAsync(Deadline);

        await _source.Applied.Completion.WaitAsync(Deadline);
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /// <summary>Starts the source on the test's file and state; waits until it is ready unless told not to.</summary>
    private async Task StartAsync(StandaloneFileOptions? reading = null, bool expectReady = true)
    {
        var options = new StandaloneOptions
        {
            File = FilePath,
            Reading = reading ?? new StandaloneFileOptions(),
            PollInterval = PollInterval,
            // No quiet time after a change notification: the fake clock would otherwise hold the read until advanced.
            Debounce = TimeSpan.Zero,
        };
        _state = new StandaloneStateFile(new StandaloneStateOptions { Path = StatePath }, TimeProvider.System, new CapturingLogger<StandaloneStateFile>());
        _source = new StandaloneServiceSource(options, _state, _queue, new StandaloneConsole(_output, _error), _time, _logger);
        _running = _source.RunAsync(_stopping.Token);
        if (expectReady)
        {
            await _source.Ready.WaitAsync(Deadline);
        }
    }

    /// <summary>Writes what an earlier run left in the state file.</summary>
    private async Task SeedStateAsync(params (ServiceKey Service, string Ip)[] entries)
    {
        var earlier = new StandaloneStateFile(new StandaloneStateOptions { Path = StatePath }, TimeProvider.System, new CapturingLogger<StandaloneStateFile>());
        await earlier.LoadAsync(CancellationToken.None);
        foreach (var (service, ip) in entries)
        {
            await earlier.WriteAsync(service, IPAddress.Parse(ip), CancellationToken.None);
        }
    }

    /// <summary>
    /// Lets the poll interval pass each time the watcher starts waiting, until <paramref name="outcome"/> completes. A
    /// change notification may get there first; an extra poll reads the same bytes and does nothing.
    /// </summary>
    private async Task<T> DriveUntilAsync<T>(Task<T> outcome)
    {
        await DriveUntilAsync((Task)outcome);
        return await outcome;
    }

    private async Task DriveUntilAsync(Task outcome)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var seen = 0;
        while (!outcome.IsCompleted)
        {
            var created = _time.TimerCreatedAsync(seen);
            await Task.WhenAny(outcome, created).WaitAsync(timeout.Token);
            if (created.IsCompleted)
            {
                seen = await created;
                _time.Advance(PollInterval);
            }
        }

        await outcome;
    }

    /// <summary>Replaces the file in one rename, so that a read prompted by a notification never sees half of it.</summary>
    private void WriteFile(params string[] documents)
    {
        var temporary = FilePath + ".tmp";
        File.WriteAllText(temporary, string.Join("\n---\n", documents));
        File.Move(temporary, FilePath, overwrite: true);
    }

    private static string Service(string name, string backends, string? loadBalancerClass = null) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
          annotations:
            littlelb.io/backends: "{backends}"
        spec:
          type: LoadBalancer{(loadBalancerClass is null ? "" : $"\n  loadBalancerClass: {loadBalancerClass}")}
          ports:
            - name: http
              port: 80
        """;

    /// <summary>A state that fails the way a bug would, not the way a file does.</summary>
    private sealed class BrokenState : IStandaloneState
    {
        public string Path => "/nowhere";

        public IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>> Current { get; } = new Dictionary<ServiceKey, IReadOnlyList<IPAddress>>();

        public ValueTask<IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>>> LoadAsync(CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug");

        public ValueTask WriteAsync(ServiceKey service, IReadOnlyList<IPAddress> ips, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
