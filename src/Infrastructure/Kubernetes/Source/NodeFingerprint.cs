using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Source;

/// <summary>The part of a Node that decides backends: readiness, deletion, labels, addresses. Heartbeats are left out.</summary>
internal static class NodeFingerprint
{
    public static string? Of(V1Node? node)
    {
        if (node is null)
        {
            return null;
        }

        var ready = node.Status?.Conditions?.FirstOrDefault(condition => condition.Type == "Ready")?.Status;
        var labels = node.Metadata?.Labels is { } all
            ? string.Join(",", all.OrderBy(label => label.Key, StringComparer.Ordinal).Select(label => $"{label.Key}={label.Value}"))
            : string.Empty;
        var addresses = node.Status?.Addresses is { } list
            ? string.Join(",", list.Select(address => $"{address.Type}={address.Address}"))
            : string.Empty;
        return $"{node.Metadata?.Name}|{ready}|{node.Metadata?.DeletionTimestamp is not null}|{labels}|{addresses}";
    }
}
