using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>
/// An in-process Kubernetes API server (Kestrel on 127.0.0.1, plain HTTP, no auth) that speaks the real wire protocol
/// to the real KubernetesClient: lists with paging and selectors, watches with resourceVersion, bookmarks and
/// 410 Expired, merge patches, leases with optimistic concurrency, and events. Tests arrange the cluster with the
/// Put/Delete methods and read what the client did from the recorded requests, patches and events.
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ObjectStore _store;
    private readonly Recordings _recordings = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TimeProvider _time = TimeProvider.System;
    private long _listDelayTicks = -1;
    private volatile bool _unavailable;
    private int _disposed;

    private FakeApiServer(WebApplication app)
    {
        _app = app;
        _store = new ObjectStore(_time);
    }

    /// <summary>Raised on the request's thread after a Service status patch has been applied and before it is answered.</summary>
    public event Action<RecordedPatch>? StatusPatched;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every PATCH of a Service's status subresource, in arrival order, including failed ones.</summary>
    public IReadOnlyList<RecordedPatch> StatusPatches => _recordings.StatusPatches;

    /// <summary>Every other PATCH (Service spec, Node, Lease, ...) except those of events, which go to <see cref="Events"/>.</summary>
    public IReadOnlyList<RecordedPatch> Patches => _recordings.Patches;

    /// <summary>Every event create (POST) and series update (PATCH), events.k8s.io/v1 and core v1 alike.</summary>
    public IReadOnlyList<RecordedEvent> Events => _recordings.Events;

    /// <summary>Every HTTP request, in arrival order, including those answered 503 while <see cref="Unavailable"/>.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _recordings.Requests;

    /// <summary>
    /// While true every request is answered 503 with a Status body. Setting it to true also ends every open watch,
    /// as an outage of the real server does.
    /// </summary>
    public bool Unavailable
    {
        get => _unavailable;
        set
        {
            _unavailable = value;
            if (value)
            {
                _store.CloseAllWatches();
            }
        }
    }

    /// <summary>Watch streams currently open.</summary>
    public int OpenWatches => _store.OpenWatches;

    /// <summary>When set, every list (not watch) waits this long before answering.</summary>
    public TimeSpan? ListDelay
    {
        get => Interlocked.Read(ref _listDelayTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;
        set => Interlocked.Exchange(ref _listDelayTicks, value?.Ticks ?? -1);
    }

    /// <summary>The resourceVersion of the latest write.</summary>
    public long ResourceVersion => _store.CurrentVersion;

    internal CancellationToken Stopping => _stopping.Token;

    internal ObjectStore Store => _store;

    internal Recordings Recordings => _recordings;

    internal TimeProvider Time => _time;

    public static async Task<FakeApiServer> StartAsync(CancellationToken ct = default)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();

        var server = new FakeApiServer(app);
        app.Use(server.RecordAndGateAsync);
        new ResourceRoutes(server, new ListPager()).Map(app);
        app.MapFallback(context => HttpJson.WriteStatusAsync(context, StatusBodies.RouteNotFound()));

        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>A client for this server; the caller disposes it.</summary>
    public IKubernetes CreateClient() => new Kubernetes(new KubernetesClientConfiguration { Host = BaseAddress.ToString() });

    /// <summary>Creates (ADDED) or replaces (MODIFIED) a Service; fills namespace "default", uid and creationTimestamp when absent.</summary>
    public V1Service PutService(V1Service service) => Put(ResourceKind.Services, service);

    public bool DeleteService(string ns, string name) => Delete(ResourceKind.Services, ns, name);

    public V1Service? GetService(string ns, string name) => Get<V1Service>(ResourceKind.Services, ns, name);

    public V1Node PutNode(V1Node node) => Put(ResourceKind.Nodes, node);

    public bool DeleteNode(string name) => Delete(ResourceKind.Nodes, null, name);

    public V1Node? GetNode(string name) => Get<V1Node>(ResourceKind.Nodes, null, name);

    public V1EndpointSlice PutEndpointSlice(V1EndpointSlice slice) => Put(ResourceKind.EndpointSlices, slice);

    public bool DeleteEndpointSlice(string ns, string name) => Delete(ResourceKind.EndpointSlices, ns, name);

    public V1EndpointSlice? GetEndpointSlice(string ns, string name) => Get<V1EndpointSlice>(ResourceKind.EndpointSlices, ns, name);

    public V1Lease PutLease(V1Lease lease) => Put(ResourceKind.Leases, lease);

    public V1Lease? GetLease(string ns, string name) => Get<V1Lease>(ResourceKind.Leases, ns, name);

    /// <summary>
    /// Creates or replaces an events.k8s.io/v1 Event without a request, as earlier runs of a controller (or other
    /// controllers) left it; not recorded in <see cref="Events"/>, which holds what clients sent.
    /// </summary>
    public Eventsv1Event PutEvent(Eventsv1Event item) => Put(ResourceKind.Events, item);

    /// <summary>Forgets watch history up to now: a watch from an older resourceVersion, or a continue token from before, gets 410 Expired.</summary>
    public void Compact() => _store.Compact();

    /// <summary>Sends a BOOKMARK with the current resourceVersion on every open watch that asked for bookmarks.</summary>
    public void SendBookmarks() => _store.SendBookmarks();

    /// <summary>Ends every open watch stream cleanly (the response completes), as the real server does at its timeout.</summary>
    public void DropWatches() => _store.CloseAllWatches();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _store.CloseAllWatches();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(deadline.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    internal void OnStatusPatched(RecordedPatch patch) => StatusPatched?.Invoke(patch);

    private async Task RecordAndGateAsync(HttpContext context, RequestDelegate next)
    {
        _recordings.Add(new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, _time.GetUtcNow()));
        if (_unavailable)
        {
            await HttpJson.WriteStatusAsync(context, StatusBodies.Unavailable()).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private T Put<T>(ResourceKind kind, T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var result = _store.Put(kind, JsonNode.Parse(KubernetesJson.Serialize(item))!.AsObject());
        return result.Succeeded
            ? KubernetesJson.Deserialize<T>(result.Object!.Json)
            : throw new ArgumentException($"{kind.Kind} cannot be stored: {result.Message}", nameof(item));
    }

    private bool Delete(ResourceKind kind, string? ns, string name) => _store.Delete(kind, ns, name).Outcome == WriteOutcome.Deleted;

    private T? Get<T>(ResourceKind kind, string? ns, string name)
        where T : class =>
        _store.Get(kind, ns, name) is { } stored ? KubernetesJson.Deserialize<T>(stored.Json) : null;
}
