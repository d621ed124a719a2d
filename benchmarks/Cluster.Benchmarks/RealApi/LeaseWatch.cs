using System.Diagnostics;
using k8s;
using k8s.Models;

namespace LoadBalancer.Cluster.Benchmarks.RealApi;

/// <summary>
/// The daemons' Lease as the API server publishes it, watched (not polled: a poll every millisecond would load the API
/// server the replicas depend on): the holder now, and the moment the holder became someone else.
/// </summary>
internal sealed class LeaseWatch : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly string _name;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long At, string Holder)> _changes = [];
    private readonly Task _watching;
    private string? _holder;

    public LeaseWatch(IKubernetes client, string ns, string name)
    {
        (_client, _namespace, _name) = (client, ns, name);
        _watching = Task.Run(() => WatchAsync(_stop.Token));
    }

    public string? Holder
    {
        get
        {
            lock (_changes)
            {
                return _holder;
            }
        }
    }

    public int? LeaseDurationSeconds { get; private set; }

    /// <summary>The first moment at or after <paramref name="since"/> the Lease named <paramref name="holder"/>.</summary>
    public async Task<long> WhenHolderAsync(string holder, long since, TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            lock (_changes)
            {
                foreach (var change in _changes)
                {
                    if (change.At >= since && change.Holder == holder)
                    {
                        return change.At;
                    }
                }
            }

            await Task.Delay(1).ConfigureAwait(false);
        }

        throw new TimeoutException($"the Lease {_namespace}/{_name} did not pass to '{holder}' within {limit} (holder: '{Holder}')");
    }

    /// <summary>Waits until someone holds the Lease.</summary>
    public async Task<string> WhenHeldAsync(TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (Holder is { Length: > 0 } holder)
            {
                return holder;
            }

            await Task.Delay(10).ConfigureAwait(false);
        }

        throw new TimeoutException($"nobody took the Lease {_namespace}/{_name} within {limit}");
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

    private void Observe(V1Lease lease)
    {
        var at = Stopwatch.GetTimestamp();
        LeaseDurationSeconds = lease.Spec?.LeaseDurationSeconds ?? LeaseDurationSeconds;
        var holder = lease.Spec?.HolderIdentity ?? string.Empty;
        lock (_changes)
        {
            if (holder != _holder)
            {
                _holder = holder;
                _changes.Add((at, holder));
            }
        }
    }

    private async Task WatchAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                // No resourceVersion: the watch starts with the Lease as it is (an ADDED), then every renewal and change.
                await foreach (var (type, lease) in _client.CoordinationV1.WatchListNamespacedLeaseAsync(
                    _namespace, fieldSelector: $"metadata.name={_name}", timeoutSeconds: 300, cancellationToken: stop).ConfigureAwait(false))
                {
                    if (type is WatchEventType.Added or WatchEventType.Modified)
                    {
                        Observe(lease);
                    }
                }
            }
            catch (Exception failure) when (!stop.IsCancellationRequested
                && failure is IOException or HttpRequestException or k8s.Autorest.HttpOperationException or k8s.KubernetesException)
            {
                await Task.Delay(50, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
