using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Support;

/// <summary>
/// An informer the test drives: it changes its cache and then raises the change, as <see cref="ResourceInformer{T}"/>
/// does, and syncs when told. A hand-written fake rather than a substitute, so that what handlers read back from the
/// cache always agrees with the change they were told about.
/// </summary>
internal sealed class FakeInformer<T> : IResourceInformer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<ObjectKey, T> _cache = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _running = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private Action<ResourceChange<T>>? _changed;

    public event Action<ResourceChange<T>>? Changed
    {
        add
        {
            lock (_gate)
            {
                _changed += value;
            }

            _subscribed.TrySetResult();
        }

        remove
        {
            lock (_gate)
            {
                _changed -= value;
            }
        }
    }

    public event Action? Synced;

    public string Kind => typeof(T).Name;

    public bool HasSynced => _synced.Task.IsCompleted;

    public string? ResourceVersion => HasSynced ? "1" : null;

    public int Count => _cache.Count;

    /// <summary>Completes once <see cref="RunAsync"/> has been called, i.e. the consumer subscribed and started it.</summary>
    public Task Running => _running.Task;

    /// <summary>Completes once a handler has been attached to <see cref="Changed"/>, which a consumer may do on another thread.</summary>
    public Task Subscribed => _subscribed.Task;

    /// <summary>Whether anyone listens to <see cref="Changed"/>: a consumer that stopped must have unsubscribed.</summary>
    public bool HasListeners => Volatile.Read(ref _changed) is not null;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _running.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is the only way out, as for the real informer.
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    public IReadOnlyCollection<T> List() => [.. _cache.Values];

    public T? Get(string? @namespace, string name) => Get(new ObjectKey(@namespace, name));

    public T? Get(ObjectKey key) => _cache.GetValueOrDefault(key);

    /// <summary>Puts an object in the cache without raising anything, as if it had been there before anyone listened.</summary>
    public void Seed(T item) => _cache[Key(item)] = item;

    /// <summary>Adds or modifies <paramref name="item"/> and raises the change.</summary>
    public void Put(T item)
    {
        var key = Key(item);
        var old = _cache.GetValueOrDefault(key);
        _cache[key] = item;
        Volatile.Read(ref _changed)?.Invoke(new ResourceChange<T>(old is null ? ChangeType.Added : ChangeType.Modified, old, item));
    }

    /// <summary>Removes the object with <paramref name="item"/>'s key and raises the deletion.</summary>
    public void Delete(T item)
    {
        if (_cache.TryRemove(Key(item), out var old))
        {
            Volatile.Read(ref _changed)?.Invoke(new ResourceChange<T>(ChangeType.Deleted, old, null));
        }
    }

    /// <summary>A completed list: the first one completes <see cref="WaitForSyncAsync"/>; each raises <see cref="Synced"/>.</summary>
    public void Sync()
    {
        _synced.TrySetResult();
        Synced?.Invoke();
    }

    private static ObjectKey Key(T item) => ObjectKey.Of(item) ?? throw new ArgumentException("a cached object has a name", nameof(item));
}
