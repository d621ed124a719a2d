using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>
/// Writes Events in the background, a few at a time, so that a reconcile never waits for the API server to store one.
/// An identical Event recorded again within <see cref="KubernetesEventOptions.SeriesWindow"/> raises the
/// <c>series</c> count of the Event already made (as client-go's events broadcaster does) instead of making another;
/// repeats that come while the Event waits to be written are sent as one write. At shutdown what waits is written for
/// up to <see cref="KubernetesEventOptions.FlushTimeout"/>, then dropped with one log line.
/// </summary>
/// <remarks>
/// A failed write is logged and not retried: an Event is never worth holding anything up, and the next repeat of the
/// same Event tries again (it creates the Event when the cluster does not have it).
/// </remarks>
internal sealed class BackgroundEventWriter : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly KubernetesEventOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>1 once a refused series patch has been logged.</summary>
    private int _patchRefusalTold;
    private readonly Channel<EventSeries> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<EventSeriesKey, EventSeries> _series = [];
    private readonly List<TaskCompletionSource> _idleWaiters = [];
    private readonly Task[] _writers;
    private DateTime _sweptAt = DateTime.MinValue;
    private int _pending;
    private int _dropped;
    private int _disposed;

    public BackgroundEventWriter(IKubernetes client, KubernetesEventOptions options, TimeProvider time, ILogger logger)
    {
        _client = client;
        _options = options;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<EventSeries>(new BoundedChannelOptions(options.Backlog) { FullMode = BoundedChannelFullMode.Wait });
        _writers = [.. Enumerable.Range(0, options.Writers).Select(_ => Task.Run(WriteLoopAsync))];
    }

    /// <summary>
    /// Queues <paramref name="item"/>, or counts it in the series of the same Event made within the window. Waits only
    /// for room in a full backlog.
    /// </summary>
    public ValueTask EnqueueAsync(Eventsv1Event item, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var key = EventSeriesKey.Of(item);
        EventSeries series;
        lock (_lock)
        {
            Sweep(now);
            if (_series.TryGetValue(key, out var existing) && now - existing.LastObserved <= _options.SeriesWindow)
            {
                series = existing;
                series.Count++;
                series.LastObserved = now;
            }
            else
            {
                series = new EventSeries(item, now);
                _series[key] = series;
            }

            if (series.Queued)
            {
                return ValueTask.CompletedTask;
            }

            series.Queued = true;
            _pending++;
        }

        return _queue.Writer.TryWrite(series) ? ValueTask.CompletedTask : WaitForRoomAsync(series, cancellationToken);
    }

    /// <summary>
    /// Takes an Event the cluster holds (from an earlier run) as the latest of its series, so that a repeat within the
    /// window counts in it rather than making another.
    /// </summary>
    public void Remember(Eventsv1Event item, DateTime observed)
    {
        var key = EventSeriesKey.Of(item);
        lock (_lock)
        {
            if (!_series.TryGetValue(key, out var existing) || (!existing.Queued && existing.LastObserved < observed))
            {
                _series[key] = EventSeries.Held(item, observed);
            }
        }
    }

    /// <summary>Completes when nothing waits to be written (tests).</summary>
    internal Task IdleAsync()
    {
        lock (_lock)
        {
            if (_pending == 0)
            {
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _idleWaiters.Add(waiter);
            return waiter.Task;
        }
    }

    /// <summary>Writes what waits for up to the flush timeout, then drops the rest, saying how many.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        var writers = Task.WhenAll(_writers);
        try
        {
            await writers.WaitAsync(_options.FlushTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await writers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var dropped = Volatile.Read(ref _dropped) + _queue.Reader.Count;
        if (dropped > 0)
        {
            EventLog.Dropped(_logger, dropped, _options.FlushTimeout);
        }

        _stopping.Dispose();
    }

    private async ValueTask WaitForRoomAsync(EventSeries series, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(series, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is ChannelClosedException or OperationCanceledException)
        {
            lock (_lock)
            {
                series.Queued = false;
            }

            Done();
            if (failure is ChannelClosedException)
            {
                // Stopping: the Event is in the log, and the cluster never gets it.
                Interlocked.Increment(ref _dropped);
                return;
            }

            throw;
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var series in _queue.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                await WriteAsync(series).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task WriteAsync(EventSeries series)
    {
        try
        {
            await series.Gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _dropped);
            Done();
            return;
        }

        try
        {
            int count;
            DateTime lastObserved;
            lock (_lock)
            {
                // From here a repeat queues the series again, and that write (after this one) sends the newer count.
                series.Queued = false;
                count = series.Count;
                lastObserved = series.LastObserved;
            }

            if (count > series.WrittenCount)
            {
                await SendAsync(series, count, lastObserved).ConfigureAwait(false);
            }
        }
        finally
        {
            series.Gate.Release();
            Done();
        }
    }

    private async Task SendAsync(EventSeries series, int count, DateTime lastObserved)
    {
        var item = series.Event;
        var ns = item.Metadata.NamespaceProperty;
        try
        {
            using var timeout = new CancellationTokenSource(_options.CreateTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
            if (series.WrittenCount == 0 || !await PatchSeriesAsync(item, count, lastObserved, linked.Token).ConfigureAwait(false))
            {
                await CreateAsync(item, count, lastObserved, linked.Token).ConfigureAwait(false);
            }

            series.WrittenCount = count;
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            if (_stopping.IsCancellationRequested)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }

            var service = new ServiceKey(ns ?? "", item.Regarding?.Name ?? "");
            EventLog.CreateFailed(_logger, service, item.Reason ?? "", failure.Message);
        }
    }

    private async Task CreateAsync(Eventsv1Event item, int count, DateTime lastObserved, CancellationToken cancellationToken)
    {
        // A repeat of an Event the cluster lost (expired, or its first write failed) is made with the count so far.
        item.Series = count > 1 ? new Eventsv1EventSeries { Count = count, LastObservedTime = lastObserved } : null;
        item.Metadata.ResourceVersion = null;
        try
        {
            await _client.EventsV1.CreateNamespacedEventAsync(item, item.Metadata.NamespaceProperty, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
        catch (HttpOperationException failure) when (failure.Response?.StatusCode == HttpStatusCode.Conflict && count > 1)
        {
            // An earlier create that timed out on our side made it after all: continue that Event.
            if (!await PatchSeriesAsync(item, count, lastObserved, cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }
        catch (HttpOperationException failure) when (failure.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            // The same: the Event exists as it should.
        }
    }

    /// <returns>False when the cluster no longer has the Event (expired after an hour, or deleted).</returns>
    private async Task<bool> PatchSeriesAsync(Eventsv1Event item, int count, DateTime lastObserved, CancellationToken cancellationToken)
    {
        var series = new Eventsv1EventSeries { Count = count, LastObservedTime = lastObserved };
        var patch = new V1Patch($"{{\"series\":{KubernetesJson.Serialize(series)}}}", V1Patch.PatchType.MergePatch);
        try
        {
            await _client.EventsV1.PatchNamespacedEventAsync(patch, item.Metadata.Name, item.Metadata.NamespaceProperty, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            item.Series = series;
            return true;
        }
        catch (HttpOperationException failure) when (failure.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (HttpOperationException failure) when (failure.Response?.StatusCode == HttpStatusCode.Forbidden)
        {
            // A role without patch on Events (the manifest before series): the repeat becomes an Event of its own. Said
            // once, with the API server's words, so that an operator can grant the right.
            if (Interlocked.Exchange(ref _patchRefusalTold, 1) == 0)
            {
                EventLog.SeriesPatchRefused(
                    _logger, new ServiceKey(item.Metadata.NamespaceProperty ?? "", item.Regarding?.Name ?? ""), item.Reason ?? "", ApiFailureText.Describe(failure));
            }

            item.Metadata.Name = KubernetesEventRecorder.NewName(item.Regarding?.Name ?? "service");
            return false;
        }
    }

    private void Done()
    {
        List<TaskCompletionSource>? idle = null;
        lock (_lock)
        {
            if (--_pending == 0 && _idleWaiters.Count > 0)
            {
                idle = [.. _idleWaiters];
                _idleWaiters.Clear();
            }
        }

        idle?.ForEach(waiter => waiter.TrySetResult());
    }

    /// <summary>Forgets, once per window, the series that have not been repeated within it: they are closed.</summary>
    private void Sweep(DateTime now)
    {
        if (now - _sweptAt < _options.SeriesWindow)
        {
            return;
        }

        _sweptAt = now;
        foreach (var (key, series) in _series.Where(entry => !entry.Value.Queued && now - entry.Value.LastObserved > _options.SeriesWindow).ToList())
        {
            _series.Remove(key);
        }
    }
}
