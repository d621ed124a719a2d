using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using k8s.Models;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Services.ApplyService;
using LoadBalancer.Application.Services.GetAppliedServices;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Kubernetes.Events;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;
using LoadBalancer.Infrastructure.Kubernetes.Mapping;
using LoadBalancer.Infrastructure.Kubernetes.Nodes;
using LoadBalancer.Infrastructure.Kubernetes.Status;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Reconciliation;

/// <summary>
/// Keeps what runs equal to the cluster, level-triggered: every change enqueues the Services it affects, and each
/// reconcile reads the current caches and applies or removes one Service through the same commands the standalone mode
/// sends. Caches are kept warm on every replica; only the leader applies, and it first restores the IPs already written
/// in the Services' status, so that neither a restart nor a takeover changes an IP.
/// </summary>
public sealed partial class ServiceController
{
    public const string NoBackendsReason = "NoBackends";
    public const string BackendsAvailableReason = "BackendsAvailable";
    public const string InvalidServiceReason = "InvalidService";

    private const int StandDownParallelism = 64;

    private readonly IResourceInformer<V1Service> _services;
    private readonly IResourceInformer<V1Node> _nodes;
    private readonly IResourceInformer<V1EndpointSlice> _slices;
    private readonly ISender _sender;
    private readonly IServiceStatusWriter _status;
    private readonly IEventRecorder _events;
    private readonly IServiceEventMemory? _eventMemory;
    private readonly WorkerNodeTagger? _tagger;
    private readonly LeaseElector? _elector;
    private readonly ServiceClassFilter _filter;
    private readonly DesiredServiceMapper _mapper;
    private readonly KubernetesServiceOptions _serviceOptions;
    private readonly ControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceController> _logger;
    private readonly EndpointSliceIndex _sliceIndex = new();

    /// <summary>The last command applied per Service in this term and the IP it got, to skip applying what already runs.</summary>
    private readonly ConcurrentDictionary<ServiceKey, (ApplyService Command, IPAddress Ip)> _applied = new();

    /// <summary>Services being released, with the IP their status may still name until the release is through.</summary>
    private readonly ConcurrentDictionary<ServiceKey, IPAddress> _releasing = new();

    /// <summary>Services the allocator refused; they wait for a release rather than retrying in a loop.</summary>
    private readonly ConcurrentDictionary<ServiceKey, string> _refused = new();

    /// <summary>The last invalid-Service or no-backends message per Service, so that each is reported once.</summary>
    private readonly ConcurrentDictionary<(ServiceKey, string Reason), string> _reported = new();

    private volatile KeyedWorkQueue<ServiceKey>? _queue;
    private readonly TaskCompletionSource _cachesSynced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _stopping;

    internal ServiceController(
        IResourceInformer<V1Service> services,
        IResourceInformer<V1Node> nodes,
        IResourceInformer<V1EndpointSlice> slices,
        ISender sender,
        IServiceStatusWriter status,
        IEventRecorder events,
        KubernetesServiceOptions serviceOptions,
        ControllerOptions options,
        LeaseElector? elector,
        WorkerNodeTagger? tagger,
        TimeProvider time,
        ILogger<ServiceController> logger)
    {
        _services = services;
        _nodes = nodes;
        _slices = slices;
        _sender = sender;
        _status = status;
        _events = events;
        _eventMemory = events as IServiceEventMemory;
        _serviceOptions = serviceOptions;
        _options = options;
        _elector = elector;
        _tagger = options.TagWorkerNodes ? tagger : null;
        _time = time;
        _logger = logger;
        _filter = new ServiceClassFilter(serviceOptions);
        _mapper = new DesiredServiceMapper(serviceOptions);
    }

    /// <summary>Completes when this replica leads and has reconciled every Service once (for tests and start-up figures).</summary>
    public Task Ready => Volatile.Read(ref _ready).Task;

    public bool IsLeading => _queue is not null;

    /// <summary>Completes once every cache has been listed (on a standby too).</summary>
    public Task CachesSynced => _cachesSynced.Task;

    /// <summary>Watches and, while leading, reconciles until <paramref name="cancellationToken"/> is cancelled; then stands down.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _stopping = cancellationToken;
        _services.Changed += OnServiceChanged;
        _nodes.Changed += OnNodeChanged;
        _slices.Changed += OnSliceChanged;
        _services.Synced += OnResynced;
        var started = Stopwatch.StartNew();
        var watching = Task.WhenAll(
            _services.RunAsync(cancellationToken),
            _nodes.RunAsync(cancellationToken),
            _slices.RunAsync(cancellationToken));
        try
        {
            await Task.WhenAll(
                _services.WaitForSyncAsync(cancellationToken),
                _nodes.WaitForSyncAsync(cancellationToken),
                _slices.WaitForSyncAsync(cancellationToken)).ConfigureAwait(false);
            int services = _services.List().Count, nodes = _nodes.List().Count, slices = _slices.List().Count;
            LogCachesSynced(services, nodes, slices, started.ElapsedMilliseconds);
            _cachesSynced.TrySetResult();

            if (_tagger is not null)
            {
                foreach (var node in _nodes.List())
                {
                    await _tagger.TagAsync(node, cancellationToken).ConfigureAwait(false);
                }
            }

            if (_elector is null)
            {
                await LeadAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _elector.RunAsync(LeadAsync, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _services.Changed -= OnServiceChanged;
            _nodes.Changed -= OnNodeChanged;
            _slices.Changed -= OnSliceChanged;
            _services.Synced -= OnResynced;
            await watching.ConfigureAwait(false);
        }
    }

    /// <summary>One term as leader: restore, reconcile everything, clean up stale addresses, then follow changes.</summary>
    private async Task LeadAsync(CancellationToken leadership)
    {
        var started = Stopwatch.StartNew();
        var queue = new KeyedWorkQueue<ServiceKey>(new WorkQueueOptions(), _time, _logger);
        try
        {
            await RestoreAsync(leadership).ConfigureAwait(false);
            _queue = queue;
            EnqueueAll(queue);
            var working = queue.RunAsync(ReconcileAsync, _options.Workers, leadership);
            try
            {
                await queue.WhenIdleAsync(leadership).ConfigureAwait(false);

                // Only now that every Service has been applied can an address nobody wants be called stale.
                await _sender.Send(new RemoveStaleAddresses(), leadership).ConfigureAwait(false);
                LogReady(_applied.Count, _refused.Count, started.ElapsedMilliseconds);
                Volatile.Read(ref _ready).TrySetResult();
            }
            finally
            {
                await working.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (leadership.IsCancellationRequested)
        {
        }
        finally
        {
            _queue = null;
            await StandDownAsync().ConfigureAwait(false);
            Interlocked.Exchange(ref _ready, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }

    /// <summary>Seeds the allocator with every IP our Services already have in their status (oldest first on a clash).</summary>
    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        var restored = new List<RestoredService>();
        foreach (var service in _services.List().Where(_filter.IsOurs))
        {
            var ip = service.Status?.LoadBalancer?.Ingress?.FirstOrDefault(ingress => !string.IsNullOrEmpty(ingress.Ip))?.Ip;
            if (ip is null)
            {
                continue;
            }

            var reading = ServiceReader.Read(service, DesiredServiceMapper.DefaultNamespace, _serviceOptions.DefaultPolicy);
            if (reading.Spec is { } spec && reading.SpecIsValid)
            {
                restored.Add(new RestoredService(spec, ip));
            }
        }

        var response = await _sender.Send(new RestoreAllocations(restored), cancellationToken).ConfigureAwait(false);
        LogRestored(response.Report?.Restored.Count ?? 0, response.Report?.Conflicts.Count ?? 0, response.Skipped.Count);
    }

    private void EnqueueAll(KeyedWorkQueue<ServiceKey> queue)
    {
        foreach (var service in _services.List())
        {
            if (_filter.IsOurs(service))
            {
                queue.Enqueue(KeyOf(service));
            }
        }
    }

    private async Task ReconcileAsync(ServiceKey key, CancellationToken cancellationToken)
    {
        var queue = _queue;
        var service = _services.Get(key.Namespace, key.Name);
        if (service is null || !_filter.IsOurs(service))
        {
            await ReleaseAsync(key, service, cancellationToken).ConfigureAwait(false);
            queue?.Forget(key);
            return;
        }

        var desired = _mapper.Map(service, _nodes.List(), _sliceIndex.Of(key));
        if (!desired.Succeeded)
        {
            // A bad edit keeps what runs; the next edit of the Service brings it back here.
            await ReportOnceAsync(key, ServiceEventType.Warning, InvalidServiceReason, string.Join("; ", desired.Errors), cancellationToken)
                .ConfigureAwait(false);
            queue?.Forget(key);
            return;
        }

        _reported.TryRemove((key, InvalidServiceReason), out _);
        var command = desired.Command;
        if (!_applied.TryGetValue(key, out var previous) || !ApplyServiceComparer.SameCommand(previous.Command, command))
        {
            var response = await _sender.Send(command, cancellationToken).ConfigureAwait(false);
            if (!response.Succeeded)
            {
                HandleFailure(key, response);
                return;
            }

            _applied[key] = (command, response.Applied.Ip);
            if (_refused.TryRemove(key, out _) || previous.Command is null || !ApplyServiceComparer.SameSpec(previous.Command.Service, command.Service))
            {
                // What this Service held before may be what a refused one was waiting for.
                WakeRefused(except: key);
            }
        }

        // Also when nothing was applied: a status write that failed after the Service was applied (the command has no
        // reason to write it again), or a status someone else edited, is put right here. Writing an equal value sends nothing.
        await _status.WriteAsync(key, _applied[key].Ip, cancellationToken).ConfigureAwait(false);
        queue?.Forget(key);
        await ReportBackendsAsync(key, desired, cancellationToken).ConfigureAwait(false);
    }

    private void HandleFailure(ServiceKey key, ApplyServiceResponse response)
    {
        if (response.Refusal is not null || response.ValidationErrors.Count > 0)
        {
            // The handler has recorded the Warning Event with the allocator's words. Retrying cannot help until another
            // Service lets go of something (or this one is edited), so it waits for that.
            _refused[key] = response.Failure ?? string.Empty;
            _queue?.Forget(key);
            LogRefused(key, response.Failure ?? string.Empty);
            return;
        }

        // A listener that could not start, a link device that said no: worth retrying, with backoff.
        throw new ReconcileFailedException($"{key}: {response.Failure}");
    }

    private void WakeRefused(ServiceKey? except = null)
    {
        if (_queue is not { } queue)
        {
            return;
        }

        foreach (var key in _refused.Keys)
        {
            if (key != except)
            {
                queue.Enqueue(key);
            }
        }
    }

    /// <param name="service">The Service as it is now (no longer ours), or null when it was deleted.</param>
    private async Task ReleaseAsync(ServiceKey key, V1Service? service, CancellationToken cancellationToken)
    {
        if (_applied.TryRemove(key, out var previous))
        {
            _releasing[key] = previous.Ip;
        }

        var wasRefused = _refused.TryRemove(key, out _);
        _reported.TryRemove((key, InvalidServiceReason), out _);
        _reported.TryRemove((key, NoBackendsReason), out _);
        var response = await _sender.Send(new RemoveService(key.Namespace, key.Name), cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            _eventMemory?.Forget(key);
        }
        else if (_releasing.TryGetValue(key, out var ip) && LoadBalancerIngress.StatusIps(service).Contains(ip))
        {
            // RemoveService clears the status, but when that write failed its retry finds nothing left to remove; the
            // status must still not keep advertising our IP. Only our IP is cleared: another implementation may own the
            // Service now. (An equal write sends nothing, so after a successful RemoveService this costs no request.)
            await _status.WriteAsync(key, null, cancellationToken).ConfigureAwait(false);
        }

        _releasing.TryRemove(key, out _);

        if (response.Removed || wasRefused)
        {
            WakeRefused();
        }
    }

    private async Task ReportBackendsAsync(ServiceKey key, DesiredServiceResult desired, CancellationToken cancellationToken)
    {
        if (desired.PortsWithoutBackends.Count == 0)
        {
            if (_reported.TryRemove((key, NoBackendsReason), out _))
            {
                await _events.RecordAsync(new ServiceEvent(key, ServiceEventType.Normal, BackendsAvailableReason, "every port has backends again"),
                    cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var where = desired.Source == BackendMode.NodePorts ? "no ready worker node (or ready endpoint)" : "no ready endpoint";
        var skipped = desired.Diagnostics.Count == 0 ? string.Empty : $" ({string.Join("; ", desired.Diagnostics)})";
        var message = $"ports {string.Join(", ", desired.PortsWithoutBackends)} have no backends: {where}{skipped}; connections to them are refused";
        await ReportOnceAsync(key, ServiceEventType.Warning, NoBackendsReason, message, cancellationToken).ConfigureAwait(false);
    }

    private async Task ReportOnceAsync(ServiceKey key, ServiceEventType type, string reason, string message, CancellationToken cancellationToken)
    {
        if (_reported.TryGetValue((key, reason), out var last) && last == message)
        {
            return;
        }

        _reported[(key, reason)] = message;
        if (reason == InvalidServiceReason)
        {
            LogInvalid(key, message);
        }

        await _events.RecordAsync(new ServiceEvent(key, type, reason, message), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops serving everything here and keeps the status, for the next leader (or this daemon after a restart). On
    /// shutdown connections drain briefly; after losing the Lease they are cut at once, since another replica owns the
    /// addresses now.
    /// </summary>
    private async Task StandDownAsync()
    {
        var drain = _stopping.IsCancellationRequested ? _options.ShutdownDrain : TimeSpan.Zero;
        var running = await _sender.Send(new GetAppliedServices(), CancellationToken.None).ConfigureAwait(false);

        // In parallel: each removal holds the apply lock only to detach, so the drains overlap and shutdown takes one
        // drain timeout, not one per Service.
        await Parallel.ForEachAsync(running, new ParallelOptions { MaxDegreeOfParallelism = StandDownParallelism }, async (service, _) =>
        {
            try
            {
                await _sender.Send(new RemoveService(service.Key.Namespace, service.Key.Name) { KeepStatus = true, DrainTimeout = drain }, CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                LogStandDownFailed(service.Key, failure.Message);
            }
        }).ConfigureAwait(false);

        _applied.Clear();
        _releasing.Clear();
        _refused.Clear();
        _reported.Clear();
        LogStoodDown(running.Count);
    }

    private void OnServiceChanged(ResourceChange<V1Service> change)
    {
        if (_queue is not { } queue)
        {
            return;
        }

        var key = KeyOf(change.Latest);
        var concerned = (change.New is { } now && _filter.IsOurs(now))
            || (change.Old is { } before && _filter.IsOurs(before))
            || _applied.ContainsKey(key)
            || _refused.ContainsKey(key);
        if (concerned)
        {
            queue.Enqueue(key);
        }
    }

    private void OnNodeChanged(ResourceChange<V1Node> change)
    {
        // Nodes of the first list are tagged by RunAsync in one pass; these are the ones that join later.
        if (change.Type == ChangeType.Added && change.New is { } added && _tagger is not null && _cachesSynced.Task.IsCompleted
            && !_stopping.IsCancellationRequested)
        {
            _ = TagAsync(_tagger, added);
        }

        // Nodes report their heartbeat every few seconds; only what decides backends is worth a reconcile of everything.
        if (_queue is { } queue && NodeFingerprint.Of(change.Old) != NodeFingerprint.Of(change.New))
        {
            EnqueueAll(queue);
        }
    }

    /// <summary>Off the informer's loop; the tagger logs its own failures, and a node it misses is tagged at the next start.</summary>
    private async Task TagAsync(WorkerNodeTagger tagger, V1Node node)
    {
        try
        {
            await tagger.TagAsync(node, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
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

        if (_queue is not { } queue)
        {
            return;
        }

        foreach (var service in new[] { EndpointSliceIndex.ServiceOf(change.Old), EndpointSliceIndex.ServiceOf(change.New) }.Distinct())
        {
            if (service is { } key && (_applied.ContainsKey(key) || _services.Get(key.Namespace, key.Name) is { } owner && _filter.IsOurs(owner)))
            {
                queue.Enqueue(key);
            }
        }
    }

    /// <summary>After a relist (a 410 or an outage) every Service is looked at again, whatever the diff said.</summary>
    private void OnResynced()
    {
        if (_queue is { } queue)
        {
            EnqueueAll(queue);
            foreach (var key in _applied.Keys)
            {
                queue.Enqueue(key);
            }
        }
    }

    private static ServiceKey KeyOf(V1Service service) =>
        new(string.IsNullOrEmpty(service.Metadata?.NamespaceProperty) ? DesiredServiceMapper.DefaultNamespace : service.Metadata.NamespaceProperty,
            service.Metadata?.Name ?? string.Empty);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Caches synced: {Services} services, {Nodes} nodes, {Slices} EndpointSlices in {ElapsedMs} ms")]
    private partial void LogCachesSynced(int services, int nodes, int slices, long elapsedMs);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Restored {Restored} IPs from Service status ({Conflicts} conflicts, {Skipped} unreadable)")]
    private partial void LogRestored(int restored, int conflicts, int skipped);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Every Service reconciled: {Applied} applied, {Refused} refused, in {ElapsedMs} ms")]
    private partial void LogReady(int applied, int refused, long elapsedMs);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "{Service} refused: {Reason}; it waits until another Service releases what it asks for")]
    private partial void LogRefused(ServiceKey service, string reason);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "{Service} is not valid and is left as it runs: {Errors}")]
    private partial void LogInvalid(ServiceKey service, string errors);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Stood down: {Count} services no longer served here; their status is kept")]
    private partial void LogStoodDown(int count);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "Could not stop serving {Service}: {Reason}")]
    private partial void LogStandDownFailed(ServiceKey service, string reason);
}

/// <summary>A reconcile that failed in a way a later attempt may not (the queue retries it with backoff).</summary>
internal sealed class ReconcileFailedException : Exception
{
    public ReconcileFailedException()
    {
    }

    public ReconcileFailedException(string message)
        : base(message)
    {
    }

    public ReconcileFailedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
