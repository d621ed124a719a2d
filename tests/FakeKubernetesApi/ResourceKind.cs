namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>What the server needs to know about one resource type to route, store and describe it.</summary>
internal sealed record ResourceKind(string Plural, string Group, string Version, string Kind, bool Namespaced, bool HasStatus)
{
    public static readonly ResourceKind Services = new("services", "", "v1", "Service", Namespaced: true, HasStatus: true);
    public static readonly ResourceKind Nodes = new("nodes", "", "v1", "Node", Namespaced: false, HasStatus: true);
    public static readonly ResourceKind EndpointSlices = new("endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", Namespaced: true, HasStatus: false);
    public static readonly ResourceKind Leases = new("leases", "coordination.k8s.io", "v1", "Lease", Namespaced: true, HasStatus: false);
    public static readonly ResourceKind Events = new("events", "events.k8s.io", "v1", "Event", Namespaced: true, HasStatus: false);
    public static readonly ResourceKind CoreEvents = new("events", "", "v1", "Event", Namespaced: true, HasStatus: false);

    public static readonly IReadOnlyList<ResourceKind> All = [Services, Nodes, EndpointSlices, Leases, Events, CoreEvents];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The URL prefix of the group version: "/api/v1" or "/apis/{group}/{version}".</summary>
    public string PathPrefix => Group.Length == 0 ? $"/api/{Version}" : $"/apis/{Group}/{Version}";

    /// <summary>The name the real server uses in error messages: "services", "leases.coordination.k8s.io".</summary>
    public string QualifiedPlural => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public bool IsEvent => Kind == "Event";
}
