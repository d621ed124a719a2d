using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>
/// One Event and its repeats: the Event as first made, how often it has been seen and when last, and what of that the
/// cluster holds. The recorder changes it under its own lock; one writer at a time (<see cref="Gate"/>) sends it.
/// </summary>
internal sealed class EventSeries(Eventsv1Event first, DateTime observed)
{
    public Eventsv1Event Event { get; } = first;

    /// <summary>Times recorded, the first included.</summary>
    public int Count { get; set; } = 1;

    public DateTime LastObserved { get; set; } = observed;

    /// <summary>The count the cluster holds; 0 while the Event has not been created.</summary>
    public int WrittenCount { get; set; }

    /// <summary>In the writers' queue: a repeat only raises the count, which the queued write then sends.</summary>
    public bool Queued { get; set; }

    /// <summary>Held by the writer sending this Event, so that two writes of it never overlap and the later one wins.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>An Event the cluster already holds (read back at a term's start), to be continued rather than repeated.</summary>
    public static EventSeries Held(Eventsv1Event item, DateTime observed)
    {
        var count = Math.Max(1, item.Series?.Count ?? 1);
        return new EventSeries(item, observed) { Count = count, WrittenCount = count };
    }
}
