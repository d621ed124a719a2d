using System.Collections;
using System.Collections.Immutable;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>
/// Lists every object of a kind (page by page, from one snapshot), then watches from the list's resourceVersion,
/// keeping an immutable cache that readers on any thread see swapped whole.
/// </summary>
/// <remarks>
/// <para>A watch that ends (its server-side timeout, a dropped connection) is started again from the last
/// resourceVersion seen, bookmarks included, so nothing is listed again. Only when the server no longer has that
/// version (410 Gone) is everything listed again; the new list is diffed against the cache, so changes missed while
/// disconnected, deletions included, are raised like any other.</para>
/// <para>Failures are retried after a backoff with jitter that depends on what the server said (see
/// <see cref="RetryBackoff"/>): attempts it did not answer are retried soon, so that it is listed or watched again within
/// <see cref="InformerOptions.UnreachableRetryCap"/> of its return; error answers back off exponentially to
/// <see cref="InformerOptions.MaxBackoff"/>.</para>
/// <para>The objects handed out are the cached instances, shared with every other reader: callers must never mutate
/// them (see <see cref="IResourceInformer{T}"/>).</para>
/// </remarks>
internal sealed class ResourceInformer<T> : IResourceInformer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private const int MaxListRestarts = 3;

    /// <summary>A watch that ends sooner without an event is treated as a failure, so a server that closes watches at once is not hammered.</summary>
    private static readonly TimeSpan HealthyWatchDuration = TimeSpan.FromSeconds(1);

    private readonly IResourceSource<T> _source;
    private readonly InformerOptions _options;
    private readonly InformerMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RetryBackoff _retries;
    private volatile ImmutableDictionary<ObjectKey, T> _cache = ImmutableDictionary<ObjectKey, T>.Empty;
    private volatile string? _resourceVersion;
    private int _running;

    /// <summary>Whether the next watch is the first from the resourceVersion of a list just made.</summary>
    private bool _freshList;

    public ResourceInformer(IResourceSource<T> source, InformerOptions options, InformerMetrics metrics, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }

        _source = source;
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _retries = new RetryBackoff(options, time, (attempts, duration) => WatchingLog.AnsweredAgain(logger, source.Kind, attempts, duration));
    }

    public event Action<ResourceChange<T>>? Changed;

    public event Action? Synced;

    public string Kind => _source.Kind;

    public bool HasSynced => _firstSync.Task.IsCompleted;

    public string? ResourceVersion => _resourceVersion;

    public int Count => _cache.Count;

    public IReadOnlyCollection<T> List() => new Snapshot(_cache);

    public T? Get(string? @namespace, string name) => Get(new ObjectKey(@namespace, name));

    public T? Get(ObjectKey key) => _cache.GetValueOrDefault(key);

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _firstSync.Task.WaitAsync(cancellationToken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException($"The {Kind} informer is already running.");
        }

        try
        {
            var mustList = true;
            while (!cancellationToken.IsCancellationRequested)
            {
                TimeSpan? backoff = null;
                if (mustList)
                {
                    try
                    {
                        await ListAndReplaceAsync(cancellationToken).ConfigureAwait(false);
                        mustList = false;
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        backoff = ListFailed(e);
                    }
                }
                else
                {
                    var outcome = await WatchOnceAsync(cancellationToken).ConfigureAwait(false);
                    mustList = outcome.Result == WatchOutcome.Expired;
                    backoff = outcome.Backoff;
                    CountEnd(outcome.Result, cancellationToken);
                }

                if (backoff is { } delay)
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the only way out.
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Counts the end of a watch once, as a restart or as the relist it leads to; not when stopping ended it, as nothing
    /// follows then (a source may end its enumeration quietly on cancellation instead of throwing).
    /// </summary>
    private void CountEnd(WatchOutcome outcome, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        if (outcome == WatchOutcome.Expired)
        {
            _metrics.Relisted(Kind, RelistReason.WatchExpired);
        }
        else
        {
            _metrics.WatchRestarted(Kind, outcome);
        }
    }

    /// <summary>
    /// The exception for the failure's log line only at Debug: the line carries the reason, and a stack trace per retry
    /// of an outage would bury it.
    /// </summary>
    private Exception? DebugOnly(Exception error) => _logger.IsEnabled(LogLevel.Debug) ? error : null;

    private TimeSpan ListFailed(Exception error)
    {
        var reason = ApiFailureText.Describe(error);
        // An expiry that escapes the list (a first page answered 410, or a continue token that keeps expiring) is an
        // error answer like any other: only a watch's expiry means "list again".
        if (FailureClassifier.Classify(error) != FailureKind.Unreachable)
        {
            var delay = _retries.ErrorAnswer();
            WatchingLog.ListFailed(_logger, Kind, reason, delay, DebugOnly(error));
            return delay;
        }

        var wait = _retries.NoAnswer();
        if (_retries.Unanswered == 1)
        {
            WatchingLog.ListUnanswered(_logger, Kind, reason, wait, _retries.UnreachableCap, DebugOnly(error));
        }
        else
        {
            WatchingLog.StillUnanswered(_logger, Kind, "list", _retries.Unanswered, reason, wait);
        }

        return wait;
    }

    private TimeSpan WatchFailed(Exception error)
    {
        var reason = ApiFailureText.Describe(error);
        var resourceVersion = _resourceVersion ?? string.Empty;
        if (FailureClassifier.Classify(error) != FailureKind.Unreachable)
        {
            var delay = _retries.ErrorAnswer();
            WatchingLog.WatchFailed(_logger, Kind, reason, resourceVersion, delay, DebugOnly(error));
            return delay;
        }

        var wait = _retries.NoAnswer();
        if (_retries.Unanswered == 1)
        {
            WatchingLog.WatchUnanswered(_logger, Kind, reason, resourceVersion, wait, _retries.UnreachableCap, DebugOnly(error));
        }
        else
        {
            WatchingLog.StillUnanswered(_logger, Kind, "watch", _retries.Unanswered, reason, wait);
        }

        return wait;
    }

    private async Task ListAndReplaceAsync(CancellationToken cancellationToken)
    {
        var (items, resourceVersion, pages) = await ListAllAsync(cancellationToken).ConfigureAwait(false);
        _retries.GoodAnswer();
        _freshList = true;
        var previous = _cache;
        var next = ImmutableDictionary.CreateBuilder<ObjectKey, T>();
        var changes = new List<ResourceChange<T>>();
        var (added, modified, deleted) = (0, 0, 0);
        foreach (var item in items)
        {
            if (ObjectKey.Of(item) is not { } key)
            {
                WatchingLog.NamelessObject(_logger, Kind, "list");
                continue;
            }

            if (!previous.TryGetValue(key, out var old))
            {
                next[key] = item;
                changes.Add(new ResourceChange<T>(ChangeType.Added, null, item));
                added++;
            }
            else if (SameVersion(old, item))
            {
                // The cached instance stays, so readers holding it still hold the current object.
                next[key] = old;
            }
            else
            {
                next[key] = item;
                changes.Add(new ResourceChange<T>(ChangeType.Modified, old, item));
                modified++;
            }
        }

        foreach (var (key, old) in previous)
        {
            if (!next.ContainsKey(key))
            {
                changes.Add(new ResourceChange<T>(ChangeType.Deleted, old, null));
                deleted++;
            }
        }

        _cache = next.ToImmutable();
        _resourceVersion = resourceVersion;
        WatchingLog.Listed(_logger, Kind, next.Count, pages, resourceVersion, added, modified, deleted);
        foreach (var change in changes)
        {
            RaiseChanged(change);
        }

        if (_firstSync.TrySetResult())
        {
            WatchingLog.FirstSync(_logger, Kind, next.Count, resourceVersion);
        }

        RaiseSynced();
    }

    /// <summary>All pages of one list. A continue token that expires midway makes the pages inconsistent, so the list starts over.</summary>
    /// <summary>
    /// Drops from an object what a real cluster puts on each one and nothing here reads: <c>managedFields</c> (the field
    /// owners of server-side apply) and kubectl's last-applied copy of the whole object. At 5,000 Services they were
    /// about 35 MiB of the leader's peak and 17 MiB of a standby's (docs/adr/0009-memory.md). Cached objects are only
    /// read, never written back, so nothing is lost to a later request.
    /// </summary>
    internal static T Slim(T item)
    {
        if (item.Metadata is { } metadata)
        {
            metadata.ManagedFields = null;
            if (metadata.Annotations is { IsReadOnly: false } annotations)
            {
                annotations.Remove(LastAppliedAnnotation);
            }
        }

        return item;
    }

    internal const string LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    private async Task<(List<T> Items, string ResourceVersion, int Pages)> ListAllAsync(CancellationToken cancellationToken)
    {
        for (var restarts = 0; ; restarts++)
        {
            var items = new List<T>();
            string? continueToken = null;
            var pages = 0;
            try
            {
                while (true)
                {
                    var page = await _source.ListAsync(continueToken, _options.PageSize, cancellationToken).ConfigureAwait(false);
                    pages++;
                    foreach (var item in page.Items)
                    {
                        Slim(item);
                    }

                    items.AddRange(page.Items);
                    if (page.Continue is null)
                    {
                        return (items, page.ResourceVersion, pages);
                    }

                    continueToken = page.Continue;
                }
            }
            catch (ResourceExpiredException) when (continueToken is not null && restarts < MaxListRestarts)
            {
                WatchingLog.ListRestarted(_logger, Kind, pages);
                _metrics.Relisted(Kind, RelistReason.ContinueExpired);
            }
        }
    }

    private async Task<(WatchOutcome Result, TimeSpan? Backoff)> WatchOnceAsync(CancellationToken cancellationToken)
    {
        var from = _resourceVersion ?? string.Empty;
        var fromFreshList = _freshList;
        _freshList = false;
        var started = _time.GetTimestamp();
        var events = 0;
        using var silence = new CancellationTokenSource(_options.SilenceTimeout, _time);
        using var watchCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, silence.Token);
        WatchingLog.WatchStarted(_logger, Kind, from);
        try
        {
            var watch = _source.WatchAsync(from, _options.WatchTimeout, watchCancellation.Token).WithCancellation(watchCancellation.Token);
            await foreach (var (type, obj) in watch.ConfigureAwait(false))
            {
                silence.CancelAfter(_options.SilenceTimeout);
                if (type is not (WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted or WatchEventType.Bookmark))
                {
                    var delay = _retries.ErrorAnswer();
                    WatchingLog.UnexpectedWatchEvent(_logger, Kind, type.ToString(), _resourceVersion ?? string.Empty, delay);
                    return (WatchOutcome.Failed, delay);
                }

                if (events++ == 0)
                {
                    _retries.WatchWorks();
                }

                Apply(type, Slim(obj));
            }
        }
        catch (OperationCanceledException) when (silence.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            WatchingLog.WatchSilent(_logger, Kind, _options.SilenceTimeout, _resourceVersion ?? string.Empty);
            return (WatchOutcome.Silent, null);
        }
        catch (ResourceExpiredException)
        {
            if (fromFreshList && events == 0)
            {
                // The list's own version cannot have expired yet; a server that keeps saying so is not listed in a loop.
                var delay = _retries.ExpiredRightAfterList();
                WatchingLog.ExpiredRightAfterList(_logger, Kind, from, delay);
                return (WatchOutcome.Expired, delay);
            }

            // The server answers, and the answer is to list: nothing to wait for, however long it was away or
            // whatever it answered meanwhile. That is the usual way back from an outage long enough to lose history.
            _retries.GoodAnswer();
            WatchingLog.WatchExpired(_logger, Kind, _resourceVersion ?? string.Empty);
            return (WatchOutcome.Expired, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return (WatchOutcome.Failed, WatchFailed(e));
        }

        if (events == 0 && _time.GetElapsedTime(started) < HealthyWatchDuration)
        {
            // The server answered and closed the watch at once: retrying at once would loop on it.
            var delay = _retries.ErrorAnswer();
            WatchingLog.WatchEndedEarly(_logger, Kind, from, _resourceVersion ?? string.Empty, delay);
            return (WatchOutcome.EndedEarly, delay);
        }

        _retries.WatchWorks();
        WatchingLog.WatchEnded(_logger, Kind, from, events, _resourceVersion ?? string.Empty);
        return (WatchOutcome.Ended, null);
    }

    private void Apply(WatchEventType type, T obj)
    {
        if (type != WatchEventType.Bookmark)
        {
            if (ObjectKey.Of(obj) is not { } key)
            {
                WatchingLog.NamelessObject(_logger, Kind, "watch event");
            }
            else if (type == WatchEventType.Deleted)
            {
                Remove(key);
            }
            else
            {
                Upsert(key, obj);
            }
        }

        if (obj?.Metadata?.ResourceVersion is { Length: > 0 } resourceVersion)
        {
            _resourceVersion = resourceVersion;
        }
    }

    private void Upsert(ObjectKey key, T obj)
    {
        var cache = _cache;
        var old = cache.GetValueOrDefault(key);
        if (old is not null && SameVersion(old, obj))
        {
            return;
        }

        _cache = cache.SetItem(key, obj);
        RaiseChanged(new ResourceChange<T>(old is null ? ChangeType.Added : ChangeType.Modified, old, obj));
    }

    private void Remove(ObjectKey key)
    {
        var cache = _cache;
        if (cache.TryGetValue(key, out var old))
        {
            _cache = cache.Remove(key);
            RaiseChanged(new ResourceChange<T>(ChangeType.Deleted, old, null));
        }
    }

    private static bool SameVersion(T cached, T candidate) =>
        cached.Metadata?.ResourceVersion is { Length: > 0 } version
        && string.Equals(version, candidate.Metadata?.ResourceVersion, StringComparison.Ordinal);

    private void RaiseChanged(ResourceChange<T> change)
    {
        if (Changed is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<ResourceChange<T>>)handler)(change);
            }
            catch (Exception e)
            {
                WatchingLog.ChangeHandlerFailed(_logger, Kind, change.Type, ObjectKey.Of(change.Latest)?.ToString() ?? "?", e);
            }
        }
    }

    private void RaiseSynced()
    {
        if (Synced is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action)handler)();
            }
            catch (Exception e)
            {
                WatchingLog.SyncHandlerFailed(_logger, Kind, e);
            }
        }
    }

    /// <summary>The values of one cache version, without copying them.</summary>
    private sealed class Snapshot(ImmutableDictionary<ObjectKey, T> cache) : IReadOnlyCollection<T>
    {
        public int Count => cache.Count;

        public IEnumerator<T> GetEnumerator() => cache.Values.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
