using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Tests.Reconciliation;

/// <summary>A source held in memory: a test puts and removes Services and edits their records, as a cluster or a file would.</summary>
internal sealed class FakeServiceSource : IServiceSource
{
    private readonly ConcurrentDictionary<ServiceKey, DesiredService> _services = new();

    /// <summary>Each Service's recorded IPs, primary first.</summary>
    public ConcurrentDictionary<ServiceKey, IReadOnlyList<IPAddress>> Records { get; } = new();

    /// <summary>How often the reconciler asked for each Service's desired state.</summary>
    public ConcurrentDictionary<ServiceKey, int> Reads { get; } = new();

    public Task Ready { get; } = Task.CompletedTask;

    public Task RunAsync(CancellationToken stopping) => Task.Delay(Timeout.Infinite, stopping).ContinueWith(_ => { }, TaskScheduler.Default);

    public void Put(DesiredService service) => _services[service.Key] = service;

    public void Remove(ServiceKey service) => _services.TryRemove(service, out _);

    public IReadOnlyCollection<ServiceKey> Keys() => [.. _services.Keys.Order()];

    public DesiredService? Find(ServiceKey service)
    {
        Reads.AddOrUpdate(service, 1, (_, count) => count + 1);
        return _services.GetValueOrDefault(service);
    }

    public IReadOnlyList<IPAddress> RecordedIps(ServiceKey service) => Records.GetValueOrDefault(service) ?? [];

    public IReadOnlyList<RestoredService> Recorded() =>
        [.. _services.Values.Where(service => Records.ContainsKey(service.Key))
            .SelectMany(service => Records[service.Key].Select(ip => new RestoredService(service.Spec, ip.ToString())))];
}

/// <summary>A status sink that writes into the source's records at once (as an informer that never lags) and counts writes; it can be made to fail.</summary>
internal sealed class RecordingStatusWriter(FakeServiceSource source) : IServiceStatusWriter
{
    /// <summary>Every write with its primary IP (null: cleared).</summary>
    public ConcurrentQueue<(ServiceKey Service, IPAddress? Ip)> Writes { get; } = new();

    public Exception? Failure { get; set; }

    /// <summary>Every write with all its IPs, primary first.</summary>
    public ConcurrentQueue<(ServiceKey Service, IReadOnlyList<IPAddress> Ips)> AllWrites { get; } = new();

    public ValueTask WriteAsync(ServiceKey service, IReadOnlyList<IPAddress> ips, CancellationToken cancellationToken)
    {
        var ip = ips.Count > 0 ? ips[0] : null;
        if (Failure is { } failure)
        {
            throw failure;
        }

        Writes.Enqueue((service, ip));
        AllWrites.Enqueue((service, ips));
        if (ip is null)
        {
            source.Records.TryRemove(service, out _);
        }
        else
        {
            source.Records[service] = ips;
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>An event sink that keeps what it is given, and can hand back what "the cluster" holds from an earlier run.</summary>
internal sealed class RecordingEventRecorder : IEventRecorder
{
    public ConcurrentQueue<ServiceEvent> Recorded { get; } = new();

    public List<ServiceEvent> Held { get; } = [];

    /// <summary>When set, reading what is held waits for it (a slow list of every Event in a big cluster).</summary>
    public Task? HeldReadable { get; set; }

    public ValueTask RecordAsync(ServiceEvent serviceEvent, CancellationToken cancellationToken)
    {
        Recorded.Enqueue(serviceEvent);
        return ValueTask.CompletedTask;
    }

    public async ValueTask<IReadOnlyList<ServiceEvent>> HeldAsync(CancellationToken cancellationToken)
    {
        if (HeldReadable is { } readable)
        {
            await readable.WaitAsync(cancellationToken);
        }

        return [.. Held];
    }

    public List<ServiceEvent> Of(string name, string reason) =>
        [.. Recorded.Where(e => e.Service.Name == name && e.Reason == reason)];
}
