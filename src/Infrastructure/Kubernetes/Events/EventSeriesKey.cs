using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Events;

/// <summary>
/// What makes two Events the same for a series: the same object (the uid too: a Service made again under the same name
/// is another object), type, reason and note.
/// </summary>
internal readonly record struct EventSeriesKey(string? Namespace, string? Name, string? Uid, string? Type, string? Reason, string? Note)
{
    public static EventSeriesKey Of(Eventsv1Event item) =>
        new(item.Regarding?.NamespaceProperty, item.Regarding?.Name, item.Regarding?.Uid, item.Type, item.Reason, item.Note);
}
