using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using LoadBalancer.Application.Common.Telemetry;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.Tests.Support;
using LoadBalancer.Tests.FakeKubernetesApi;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>The client-backed sources and the informer against the fake API server, over the real wire protocol.</summary>
public sealed class InformerAgainstFakeApiServerTests : IAsyncLifetime, IDisposable, IClassFixture<InformerAgainstFakeApiServerTests.WarmUp>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    /// <summary>The silence timeout where the informer runs on a fake clock: far beyond any step the tests take on it.</summary>
    private static readonly TimeSpan Silence = TimeSpan.FromMinutes(10);

    private static readonly InformerOptions Options = new()
    {
        PageSize = 2,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ResourceChange<V1Service>> _changes = new();
    private readonly CapturingLogger<InformerAgainstFakeApiServerTests> _logger = new();
    private readonly TestMeterFactory _meters = new();
    private FakeApiServer _server = null!;
    private IKubernetes _client = null!;
    private Task? _running;
    private int _syncs;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync(_timeout.Token);
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_running is not null)
            {
                await _running.WaitAsync(Deadline);
            }
        }
        finally
        {
            _client.Dispose();
            await _server.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _stop.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task Informer_ListsInPagesThenFollowsLiveChanges()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            _server.PutService(Service(name));
        }

        var informer = await StartSyncedAsync();
        Assert.Equal(["a", "b", "c"], Names(informer));
        Assert.Equal(2, ServiceLists().Count);
        Assert.NotNull(ServiceLists()[1].Query("continue"));

        _server.PutService(Service("d"));
        _server.PutService(Service("a", port: 8080));
        _server.DeleteService("default", "b");
        await Until(() => _changes.Count == 6, "live changes arrived");

        Assert.Equal(
            [(ChangeType.Added, "d"), (ChangeType.Modified, "a"), (ChangeType.Deleted, "b")],
            _changes.Skip(3).Select(c => (c.Type, c.Latest.Metadata.Name)));
        Assert.Equal(["a", "c", "d"], Names(informer));
        Assert.Equal(8080, informer.Get("default", "a")?.Spec.Ports[0].Port);
        Assert.Equal(_server.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), informer.ResourceVersion);
        Assert.Equal(2, ServiceLists().Count);
    }

    [Fact]
    public async Task Informer_AfterCompactionWhileDisconnected_ListsAgainAndRaisesWhatChangedIncludingDeletions()
    {
        _server.PutService(Service("kept"));
        _server.PutService(Service("deleted"));
        _server.PutService(Service("changed"));
        var informer = await StartSyncedAsync();
        _changes.Clear();
        await Until(() => _server.OpenWatches == 1, "the watch was open");

        // Changes made while no watch is open, and then history the old resourceVersion needs is compacted away.
        _server.Unavailable = true;
        _server.DeleteService("default", "deleted");
        _server.PutService(Service("changed", port: 9090));
        _server.PutService(Service("added"));
        _server.Compact();
        var back = DateTimeOffset.UtcNow;
        _server.Unavailable = false;
        await Until(() => Volatile.Read(ref _syncs) == 2, "the relist completed");

        Assert.Equal(["added", "changed", "kept"], Names(informer));
        AssertListedSoonAfter(back);
        Assert.Equal(
            [(ChangeType.Added, "added"), (ChangeType.Modified, "changed"), (ChangeType.Deleted, "deleted")],
            _changes.Select(c => (c.Type, c.Latest.Metadata.Name)).Order());
        Assert.Equal(2, ServiceLists().Count(r => r.Query("continue") is null));
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 5108);
    }

    [Fact]
    public async Task Informer_ServerUnreachableWhileHistoryIsCompacted_ListsAgainSoonAfterItAnswers()
    {
        // MaxBackoff as in production: only UnreachableRetryCap keeps the waits short while nothing answers.
        var options = Options with
        {
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromSeconds(30),
            UnreachableRetryCap = TimeSpan.FromMilliseconds(20),
        };
        using var cutOff = new CutOff();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() }, cutOff);
        _server.PutService(Service("kept"));
        _server.PutService(Service("deleted"));
        var informer = await StartSyncedAsync(client, options);
        _changes.Clear();
        await Until(() => _server.OpenWatches == 1, "the watch was open");

        // The server goes away (connections refused), and returns without the history the informer's version needs.
        cutOff.Active = true;
        _server.DropWatches();
        _server.DeleteService("default", "deleted");
        _server.PutService(Service("added"));
        _server.Compact();
        // Ten attempts: doubling from 5 ms without the cap, the tenth wait alone would be over a second.
        await Until(() => cutOff.Refused >= 10, "the informer kept trying while nothing answered");
        var back = DateTimeOffset.UtcNow;
        cutOff.Active = false;
        await Until(() => Volatile.Read(ref _syncs) == 2, "the relist completed");

        Assert.Equal(["added", "kept"], Names(informer));
        Assert.Equal([(ChangeType.Added, "added"), (ChangeType.Deleted, "deleted")], _changes.Select(c => (c.Type, c.Latest.Metadata.Name)).Order());
        AssertListedSoonAfter(back);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 5116);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 5118);
        Assert.DoesNotContain(_logger.Entries, e => e.EventId.Id is 5110 or 5119);

        // Stopped here, before its client is disposed.
        await _stop.CancelAsync();
        await _running!.WaitAsync(Deadline);
    }

    [Fact]
    public async Task Informer_WatchDropped_WatchesAgainFromTheLastResourceVersionWithoutListing()
    {
        var informer = await StartSyncedAsync();
        var put = _server.PutService(Service("a"));
        await Until(() => informer.ResourceVersion == put.Metadata.ResourceVersion, "a arrived");

        _server.DropWatches();
        await Until(() => ServiceWatches().Any(w => w.Query("resourceVersion") == put.Metadata.ResourceVersion), "a watch from a's resourceVersion was opened");
        _server.PutService(Service("b"));
        await Until(() => Names(informer).SequenceEqual(["a", "b"]), "b arrived on the new watch");

        Assert.Single(ServiceLists());
        Assert.Equal(1, Volatile.Read(ref _syncs));
    }

    [Fact]
    public async Task Informer_QuietWatchClosedByTheServer_IsAnEndNotAFailure()
    {
        var informer = await StartSyncedAsync();
        await Until(() => _server.OpenWatches > 0, "the first watch is open");
        var from = informer.ResourceVersion;

        _server.DropWatches();
        await Until(() => ServiceWatches().Count(w => w.Query("resourceVersion") == from) >= 2, "a second watch from the same resourceVersion");
        _server.PutService(Service("a"));
        await Until(() => Names(informer).SequenceEqual(["a"]), "a arrived on the new watch");

        Assert.DoesNotContain(_logger.Entries, e => e.EventId.Id == 5110);
        Assert.Single(ServiceLists());
    }

    [Fact]
    public async Task Informer_WatchClosedByTheServer_CountsARestartOfServices_AndNoRelist()
    {
        var time = new TimerRecordingTimeProvider();
        using var restarts = Collector("littlelb.kubernetes.watch.restarts");
        using var relists = Collector("littlelb.kubernetes.relists");
        var informer = await StartSyncedAsync(options: Options with { SilenceTimeout = Silence }, time: time);
        await Until(() => _server.OpenWatches == 1, "the watch was open");
        var from = informer.ResourceVersion;

        // Open for as long as a healthy watch on the informer's clock, so that its end is the server's timeout as it
        // happens every few minutes (ended), not a watch closed at once (ended_early), which is waited out before the next.
        time.Advance(TimeSpan.FromSeconds(2));
        _server.DropWatches();
        await Until(() => ServiceWatches().Count(w => w.Query("resourceVersion") == from) == 2, "a second watch from the same resourceVersion");

        Assert.Equal(["1 reason=ended resource=services"], restarts.GetMeasurementSnapshot().Select(m => m.Describe()));
        // The first list is not a relist, and the watch went on from where it was.
        Assert.Empty(relists.GetMeasurementSnapshot());
        Assert.Single(ServiceLists());
    }

    [Fact]
    public async Task Informer_WatchFromACompactedResourceVersion_CountsARelistForTheExpiry()
    {
        var time = new TimerRecordingTimeProvider();
        using var restarts = Collector("littlelb.kubernetes.watch.restarts");
        using var relists = Collector("littlelb.kubernetes.relists");
        // Listed at its resourceVersion, not at "0", from which a watch starts with the current state and cannot expire.
        _server.PutService(Service("kept"));
        var informer = await StartSyncedAsync(options: Options with { SilenceTimeout = Silence }, time: time);
        await Until(() => _server.OpenWatches == 1, "the watch was open");
        var timers = time.Timers.Count;

        // Closed at once on the informer's clock, the watch is opened again only after a backoff on that clock. Meanwhile
        // a change is made and the history compacted, so the next watch, from the list's resourceVersion, is answered 410.
        _server.DropWatches();
        var backoff = await time.NextTimerAsync(timers, Silence);
        _server.PutService(Service("a"));
        _server.Compact();
        time.Advance(backoff);
        await Until(() => Volatile.Read(ref _syncs) == 2, "the relist completed");

        Assert.Equal(["1 reason=watch_expired resource=services"], relists.GetMeasurementSnapshot().Select(m => m.Describe()));
        // The watch closed at once was restarted; the one answered 410 was not, it led to the list.
        Assert.Equal(["1 reason=ended_early resource=services"], restarts.GetMeasurementSnapshot().Select(m => m.Describe()));
        Assert.Equal(2, ServiceLists().Count);
        Assert.Equal(["a", "kept"], Names(informer));
    }

    [Fact]
    public async Task Informer_ServerUnavailableForAWhile_BacksOffThenCatchesUpWithoutListing()
    {
        _server.PutService(Service("a"));
        var informer = await StartSyncedAsync();
        await Until(() => _server.OpenWatches == 1, "the watch was open");

        _server.Unavailable = true;
        _server.PutService(Service("b"));
        _server.DeleteService("default", "a");
        await Until(() => Unavailable().Count >= 4, "the informer retried during the outage");
        var retries = Unavailable();
        _server.Unavailable = false;
        await Until(() => _changes.Count == 3, "the changes made during the outage arrived");

        Assert.Equal(["b"], Names(informer));
        Assert.Single(ServiceLists());
        var gaps = retries.Zip(retries.Skip(1), (first, second) => second.At - first.At).ToList();
        Assert.True(gaps[^1] >= TimeSpan.FromMilliseconds(20), $"retries were not backed off: {string.Join(", ", gaps)}");
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 5110);
        Assert.Equal([(ChangeType.Added, "b"), (ChangeType.Deleted, "a")], _changes.Skip(1).Select(c => (c.Type, c.Latest.Metadata.Name)));
    }

    [Fact]
    public async Task Informer_Bookmark_AdvancesTheResourceVersionTheNextWatchStartsFrom()
    {
        _server.PutService(Service("a"));
        var informer = await StartSyncedAsync();
        _server.PutNode(new V1Node { Metadata = new V1ObjectMeta { Name = "n1" } });
        var latest = _server.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(latest, informer.ResourceVersion);
        await Until(() => _server.OpenWatches == 1, "the watch was open");

        _server.SendBookmarks();
        await Until(() => informer.ResourceVersion == latest, "the bookmark arrived");
        _server.DropWatches();
        await Until(() => ServiceWatches().Any(w => w.Query("resourceVersion") == latest), "a watch from the bookmark's resourceVersion was opened");

        Assert.Single(_changes);
        Assert.All(ServiceWatches(), w => Assert.Equal("true", w.Query("allowWatchBookmarks")));
    }

    [Fact]
    public async Task NodeSource_WithALabelSelector_ListsAndWatchesOnlyTheSelectedNodes()
    {
        _server.PutNode(Node("worker-1", worker: true));
        _server.PutNode(Node("control-plane", worker: false));
        var informer = new ResourceInformer<V1Node>(
            KubernetesResourceSources.Nodes(_client, "node-role.kubernetes.io/worker"), Options, new InformerMetrics(_meters), TimeProvider.System, _logger);
        _running = informer.RunAsync(_stop.Token);
        await informer.WaitForSyncAsync(_timeout.Token).WaitAsync(Deadline);

        _server.PutNode(Node("worker-2", worker: true));
        _server.PutNode(Node("control-plane-2", worker: false));
        await Until(() => informer.Count == 2 && informer.Get(null, "worker-2") is not null, "worker-2 arrived");

        Assert.Equal(["worker-1", "worker-2"], informer.List().Select(n => n.Metadata.Name).Order());
        Assert.Same(informer.Get(null, "worker-1"), informer.Get("", "worker-1"));
    }

    [Fact]
    public async Task EndpointSliceSource_ListsAndWatchesSlicesOfAllNamespaces()
    {
        _server.PutEndpointSlice(Slice("web-abc", "default"));
        var informer = new ResourceInformer<V1EndpointSlice>(
            KubernetesResourceSources.EndpointSlices(_client), Options, new InformerMetrics(_meters), TimeProvider.System, _logger);
        _running = informer.RunAsync(_stop.Token);
        await informer.WaitForSyncAsync(_timeout.Token).WaitAsync(Deadline);

        _server.PutEndpointSlice(Slice("api-xyz", "other"));
        await Until(() => informer.Get("other", "api-xyz") is not null, "the slice in another namespace arrived");

        Assert.Equal(2, informer.Count);
    }

    [Fact]
    public async Task Sources_NothingListening_FailAsUnreachable_ForAListAndAWatch()
    {
        using var cutOff = new CutOff { Active = true };
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _server.BaseAddress.ToString() }, cutOff);
        var source = KubernetesResourceSources.Services(client);

        var listError = await Record.ExceptionAsync(() => source.ListAsync(null, 500, _timeout.Token));
        var watchError = await Record.ExceptionAsync(async () =>
        {
            await foreach (var _ in source.WatchAsync("1", TimeSpan.FromMinutes(5), _timeout.Token))
            {
            }
        });

        Assert.Equal(FailureKind.Unreachable, FailureClassifier.Classify(Assert.IsType<HttpRequestException>(listError)));
        Assert.Equal(FailureKind.Unreachable, FailureClassifier.Classify(Assert.IsType<HttpRequestException>(watchError)));
        Assert.Equal(2, cutOff.Refused);
    }

    private async Task<ResourceInformer<V1Service>> StartSyncedAsync(IKubernetes? client = null, InformerOptions? options = null, TimeProvider? time = null)
    {
        var informer = new ResourceInformer<V1Service>(
            KubernetesResourceSources.Services(client ?? _client), options ?? Options, new InformerMetrics(_meters), time ?? TimeProvider.System, _logger);
        informer.Changed += _changes.Enqueue;
        informer.Synced += () => Interlocked.Increment(ref _syncs);
        _running = informer.RunAsync(_stop.Token);
        await informer.WaitForSyncAsync(_timeout.Token).WaitAsync(Deadline);
        return informer;
    }

    /// <summary>
    /// The relist's first page was asked for soon after <paramref name="back"/>, when the server answered again: well
    /// within a second on an idle machine; the bound leaves room for a loaded one.
    /// </summary>
    private void AssertListedSoonAfter(DateTimeOffset back)
    {
        var relisted = ServiceLists().Last(r => r.Query("continue") is null).At;
        Assert.InRange(relisted - back, TimeSpan.Zero, TimeSpan.FromSeconds(1.5));
    }

    private MetricCollector<long> Collector(string instrument) => new(_meters, LoadBalancerMeter.Name, instrument);

    private List<RecordedRequest> ServiceRequests() =>
        [.. _server.Requests.Where(r => r.Method == "GET" && r.Path == "/api/v1/services")];

    private List<RecordedRequest> ServiceLists() => [.. ServiceRequests().Where(r => !r.IsWatch)];

    private List<RecordedRequest> ServiceWatches() => [.. ServiceRequests().Where(r => r.IsWatch)];

    /// <summary>Requests made while the server was unavailable: every one after the last request that preceded the outage.</summary>
    private List<RecordedRequest> Unavailable() => [.. ServiceWatches().Skip(1)];

    private static IEnumerable<string> Names(ResourceInformer<V1Service> informer) => informer.List().Select(s => s.Metadata.Name).Order();

    private static V1Service Service(string name, int port = 80) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = port }] },
    };

    private static V1Node Node(string name, bool worker) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = worker ? new Dictionary<string, string> { ["node-role.kubernetes.io/worker"] = "" } : new Dictionary<string, string>(),
        },
    };

    private static V1EndpointSlice Slice(string name, string ns) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        AddressType = "IPv4",
        Endpoints = [],
    };

    /// <summary>While active, sends every request to a port nothing listens on, so it is refused as by a server that is down.</summary>
    private sealed class CutOff : DelegatingHandler
    {
        // Bound but not listening: connections are refused, and no other process can take the port meanwhile.
        private readonly Socket _closed = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private volatile bool _active;
        private int _refused;

        public CutOff() => _closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        public bool Active
        {
            get => _active;
            set => _active = value;
        }

        public int Refused => Volatile.Read(ref _refused);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!_active)
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            request.RequestUri = new UriBuilder(request.RequestUri!) { Port = ((IPEndPoint)_closed.LocalEndPoint!).Port }.Uri;
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Increment(ref _refused);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _closed.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Lists and watches once through a whole informer before the first test: JIT-compiling Kestrel, the client and the
    /// informer took seconds on a loaded machine, charged to whichever test happened to run first.
    /// </summary>
    public sealed class WarmUp : IAsyncLifetime
    {
        public async Task InitializeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var server = await FakeApiServer.StartAsync(timeout.Token);
            using var client = server.CreateClient();
            server.PutService(Service("listed"));
            using var meters = new TestMeterFactory();
            var informer = new ResourceInformer<V1Service>(
                KubernetesResourceSources.Services(client), Options, new InformerMetrics(meters), TimeProvider.System, new CapturingLogger<WarmUp>());
            var running = informer.RunAsync(timeout.Token);
            await informer.WaitForSyncAsync(timeout.Token);
            server.PutService(Service("watched"));
            while (informer.Count < 2)
            {
                await Task.Delay(10, timeout.Token);
            }

            await timeout.CancelAsync();
            await running;
        }

        public Task DisposeAsync() => Task.CompletedTask;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(10);
        }
    }
}
