namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>One PATCH the server received, recorded whether or not it succeeded.</summary>
/// <param name="Resource">The plural resource name: "services", "nodes", "leases".</param>
/// <param name="Namespace">Null for cluster-scoped resources such as nodes.</param>
/// <param name="Subresource">"status" for a status patch, otherwise null.</param>
/// <param name="FieldManager">The fieldManager query parameter, or null.</param>
/// <param name="StatusCode">The HTTP status the server answered with.</param>
public sealed record RecordedPatch(
    string Resource,
    string? Namespace,
    string Name,
    string? Subresource,
    string Body,
    string? ContentType,
    string? FieldManager,
    int StatusCode,
    DateTimeOffset At);
