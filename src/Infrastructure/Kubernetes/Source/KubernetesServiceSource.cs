using System.Net;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.ServiceManifests;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Source;

/// <summary>
/// The cluster as a source of Services: informers keep Services, Nodes and EndpointSlices warm (on every replica, so a
/// standby is ready to lead), each change queues the Services it concerns, and a Service of ours maps, with the nodes
/// and its slices, to what should be served. Its record is its status.
/// </summary>
internal sealed partial class KubernetesServiceSource : IServiceSource
{
    private readonly IResourceInformer<V1Service> _services;
    private readonly IResourceInformer<V1Node> _nodes;
    private readonly IResourceInformer<V1EndpointSlice> _slices;
    private readonly IReconcileQueue _queue;
    private readonly ServiceClassFilter _filter;
    private readonly DesiredServiceMapper _mapper;
    private readonly KubernetesServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesServiceSource> _logger;
    private readonly EndpointSliceIndex _sliceIndex = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public KubernetesServiceSource(
        IResourceInformer<V1Service> services,
        IResourceInformer<V1Node> nodes,
        IResourceInformer<V1EndpointSlice> slices,
        IReconcileQueue queue,
        KubernetesServiceOptions options,
        TimeProvider time,
        ILogger<KubernetesServiceSource> logger)
    {
        _services = services;
        _nodes = nodes;
        _slices = slices;
        _queue = queue;
        _options = options;
        _time = time;
        _logger = logger;
        _filter = new ServiceClassFilter(options.LoadBalancerClass, options.ServeUnclassed);
        _mapper = new DesiredServiceMapper(options);
    }

    public Task Ready => _ready.Task;

    public async Task RunAsync(CancellationToken stopping)
    {
        _services.Changed += OnServiceChanged;
        _nodes.Changed += OnNodeChanged;
        _slices.Changed += OnSliceChanged;
        _services.Synced += _queue.EnqueueAll;
        var started = _time.GetTimestamp();
        var watching = Task.WhenAll(_services.RunAsync(stopping), _nodes.RunAsync(stopping), _slices.RunAsync(stopping));
        try
        {
            await Task.WhenAll(
                _services.WaitForSyncAsync(stopping),
                _nodes.WaitForSyncAsync(stopping),
                _slices.WaitForSyncAsync(stopping)).ConfigureAwait(false);
            var elapsed = (long)_time.GetElapsedTime(started).TotalMilliseconds;
            LogCachesSynced(_services.Count, _nodes.Count, _slices.Count, elapsed);
            _ready.TrySetResult();
            await watching.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            _ready.TrySetCanceled(stopping);
        }
        catch (Exception failure) when (!_ready.Task.IsCompleted && failure is not OutOfMemoryException)
        {
            // The informers retry every failure of the API server themselves; what ends up here is a bug, and the
            // daemon must say so rather than wait for caches that will never sync.
            _ready.TrySetException(failure);
        }
        finally
        {
            _services.Changed -= OnServiceChanged;
            _nodes.Changed -= OnNodeChanged;
            _slices.Changed -= OnSliceChanged;
            _services.Synced -= _queue.EnqueueAll;
            await watching.ConfigureAwait(false);
        }
    }

    public IReadOnlyCollection<ServiceKey> Keys() =>
        [.. _services.List().Where(service => !string.IsNullOrEmpty(service.Metadata?.Name) && _filter.IsOurs(service)).Select(ServiceReader.KeyOf)];

    public DesiredService? Find(ServiceKey service)
    {
        var current = _services.Get(service.Namespace, service.Name);
        return current is not null && _filter.IsOurs(current) ? _mapper.Map(current, _nodes.List(), _sliceIndex.Of(service)) : null;
    }

    public IReadOnlyList<IPAddress> RecordedIps(ServiceKey service) =>
        _services.Get(service.Namespace, service.Name) is { } current ? [.. LoadBalancerIngress.StatusIps(current)] : [];

    public IReadOnlyList<RestoredService> Recorded()
    {
        var restored = new List<RestoredService>();
        foreach (var service in _services.List().Where(_filter.IsOurs))
        {
            // Every ingress IP, in order: a dual-stack Service keeps both families and its primary.
            var ips = LoadBalancerIngress.StatusIps(service).ToList();
            if (ips.Count > 0 && ServiceReader.Read(service, _options.DefaultPolicy) is { } reading)
            {
                restored.AddRange(ips.Select(ip => new RestoredService(reading.Spec, ip.ToString())));
            }
        }

        return restored;
    }

    private void OnServiceChanged(ResourceChange<V1Service> change)
    {
        // A Service that stops being ours must be released, so one that was ours before the change counts too.
        if ((change.New is { } now && _filter.IsOurs(now)) || (change.Old is { } before && _filter.IsOurs(before)))
        {
            _queue.Enqueue(ServiceReader.KeyOf(change.Latest));
        }
    }

    private void OnNodeChanged(ResourceChange<V1Node> change)
    {
        // Nodes report their heartbeat every few seconds; only what decides backends is worth a look at every Service.
        if (NodeFingerprint.Of(change.Old) != NodeFingerprint.Of(change.New))
        {
            _queue.EnqueueAll();
        }
    }

    private void OnSliceChanged(ResourceChange<V1EndpointSlice> change)
    {
        if (change.Old is { } old)
        {
            _sliceIndex.Remove(old);
        }

        if (change.New is { } slice)
        {
            _sliceIndex.Put(slice);
        }

        foreach (var service in new[] { EndpointSliceIndex.ServiceOf(change.Old), EndpointSliceIndex.ServiceOf(change.New) }.Distinct())
        {
            if (service is { } key && _services.Get(key.Namespace, key.Name) is { } owner && _filter.IsOurs(owner))
            {
                _queue.Enqueue(key);
            }
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Caches synced: {Services} services, {Nodes} nodes, {Slices} EndpointSlices in {ElapsedMs} ms")]
    private partial void LogCachesSynced(int services, int nodes, int slices, long elapsedMs);
}
