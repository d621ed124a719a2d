using k8s;
using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>An object's identity within its kind: namespace and name. Cluster-scoped objects have the empty namespace.</summary>
internal readonly record struct ObjectKey
{
    public ObjectKey(string? @namespace, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Namespace = @namespace ?? string.Empty;
        Name = name;
    }

    public string Namespace { get; }

    public string Name { get; }

    /// <summary>The key of <paramref name="obj"/>; null when it has no name (a malformed object, never from a real server).</summary>
    public static ObjectKey? Of(IKubernetesObject<V1ObjectMeta>? obj) =>
        obj?.Metadata?.Name is { } name ? new ObjectKey(obj.Metadata.NamespaceProperty, name) : null;

    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}/{Name}";
}
