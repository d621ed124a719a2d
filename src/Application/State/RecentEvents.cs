using LoadBalancer.Application.Abstractions;

namespace LoadBalancer.Application.State;

/// <summary>An Event as the status page lists it: when this replica recorded it, and what it said.</summary>
public sealed record RecentEvent(DateTimeOffset At, string Namespace, string Name, ServiceEventType Type, string Reason, string Message);

/// <summary>
/// The last Events this replica recorded, newest first, for the status page and the state API: the sink (Kubernetes
/// Events, or the log) keeps them for good, this keeps only enough to show what happened lately without asking it.
/// </summary>
public sealed class RecentEvents(TimeProvider time)
{
    /// <summary>Enough for a screen of refusals and changes; older ones are in the sink.</summary>
    public const int Capacity = 100;

    private readonly Lock _lock = new();
    private readonly RecentEvent?[] _ring = new RecentEvent?[Capacity];
    private int _next;
    private int _count;

    public void Add(ServiceEvent serviceEvent)
    {
        ArgumentNullException.ThrowIfNull(serviceEvent);
        var recent = new RecentEvent(
            time.GetUtcNow(), serviceEvent.Service.Namespace, serviceEvent.Service.Name, serviceEvent.Type, serviceEvent.Reason, serviceEvent.Message);
        lock (_lock)
        {
            _ring[_next] = recent;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
        }
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<RecentEvent> Latest()
    {
        lock (_lock)
        {
            var latest = new RecentEvent[_count];
            for (var i = 0; i < _count; i++)
            {
                latest[i] = _ring[(_next - 1 - i + Capacity) % Capacity]!;
            }

            return latest;
        }
    }
}
