using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>
/// The Services of the real API server as another client sees them: a list, then a watch, and for each Service the
/// moment its status.loadBalancer.ingress first named an IP (the status write as the API server published it).
/// </summary>
internal sealed class IngressWatch : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly ConcurrentDictionary<string, (long At, string Ip, int Port)> _ingress = new();
    private readonly ConcurrentDictionary<string, long> _added = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(long At, string Ip)>> _waiting = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _watching;
    private int _countTarget = int.MaxValue;
    private TaskCompletionSource<long> _count = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _restarts;

    private IngressWatch(IKubernetes client)
    {
        _client = client;
        _watching = Task.Run(() => WatchAsync(_stop.Token));
    }

    public int WithIngress => _ingress.Count;

    /// <summary>How often the watch ended and was resumed (or listed again): context for a slow figure.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    public static async Task<IngressWatch> StartAsync(IKubernetes client)
    {
        var watch = new IngressWatch(client);
        await watch._listed.Task.WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        return watch;
    }

    public IReadOnlyDictionary<string, (long At, string Ip, int Port)> Ingress => _ingress;

    /// <summary>When the watch delivered ADDED for <paramref name="name"/>, if it did.</summary>
    public long? AddedAt(string name) => _added.TryGetValue(name, out var at) ? at : null;

    /// <summary>The moment <paramref name="count"/> Services had an IP in their status (at once if they do already).</summary>
    public async Task<long> WhenCountAsync(int count, TimeSpan limit)
    {
        lock (_ingress)
        {
            _countTarget = count;
            _count = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_ingress.Count >= count)
            {
                _count.TrySetResult(_ingress.Values.Max(entry => entry.At));
            }
        }

        try
        {
            return await _count.Task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"only {_ingress.Count} of {count} Services had an ingress IP after {limit}");
        }
    }

    /// <summary>The moment and IP of <paramref name="name"/>'s first ingress.</summary>
    public Task<(long At, string Ip)> WhenServiceAsync(string name)
    {
        var waiter = _waiting.GetOrAdd(name, _ => new TaskCompletionSource<(long, string)>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_ingress.TryGetValue(name, out var seen))
        {
            waiter.TrySetResult((seen.At, seen.Ip));
        }

        return waiter.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watching.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private void Observe(V1Service service, long at)
    {
        var name = service.Metadata?.Name;
        if (name is null || service.Status?.LoadBalancer?.Ingress is not { Count: > 0 } ingress || ingress[0].Ip is not { } ip)
        {
            return;
        }

        var port = service.Spec?.Ports is { Count: > 0 } ports ? ports[0].Port : 0;
        if (!_ingress.TryAdd(name, (at, ip, port)))
        {
            return;
        }

        if (_waiting.TryGetValue(name, out var waiter))
        {
            waiter.TrySetResult((at, ip));
        }

        lock (_ingress)
        {
            if (_ingress.Count >= _countTarget)
            {
                _count.TrySetResult(at);
            }
        }
    }

    private async Task WatchAsync(CancellationToken stop)
    {
        string? resourceVersion = null;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(stop).ConfigureAwait(false);
                    _listed.TrySetResult();
                }

                await foreach (var (type, service) in _client.CoreV1.WatchListServiceForAllNamespacesAsync(
                    resourceVersion: resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300, cancellationToken: stop).ConfigureAwait(false))
                {
                    var at = Stopwatch.GetTimestamp();
                    resourceVersion = service.Metadata?.ResourceVersion ?? resourceVersion;
                    if (type == WatchEventType.Added && service.Metadata?.Name is { } name)
                    {
                        _added.TryAdd(name, at);
                    }

                    if (type is WatchEventType.Added or WatchEventType.Modified)
                    {
                        Observe(service, at);
                    }
                }
            }
            catch (Exception failure) when (!stop.IsCancellationRequested && failure is k8s.Autorest.HttpOperationException or k8s.KubernetesException)
            {
                // 410 Gone or an error event: list again; a Service's first IP stays the first time it was seen.
                resourceVersion = null;
            }
            catch (Exception failure) when (!stop.IsCancellationRequested && failure is IOException or HttpRequestException)
            {
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _restarts);
        }
    }

    private async Task<string> ListAsync(CancellationToken stop)
    {
        string? next = null;
        string resourceVersion;
        do
        {
            var page = await _client.CoreV1.ListServiceForAllNamespacesAsync(limit: 500, continueParameter: next, cancellationToken: stop).ConfigureAwait(false);
            var at = Stopwatch.GetTimestamp();
            foreach (var service in page.Items)
            {
                Observe(service, at);
            }

            next = page.Metadata?.ContinueProperty;
            resourceVersion = page.Metadata?.ResourceVersion ?? "0";
        }
        while (!string.IsNullOrEmpty(next));

        return resourceVersion.ToString(CultureInfo.InvariantCulture);
    }
}
