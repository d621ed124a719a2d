using System.Text.Json.Nodes;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>One object as the server holds it: immutable JSON plus what lists, selectors and watches look up.</summary>
internal sealed record StoredObject(
    ResourceKind Kind,
    string? Namespace,
    string Name,
    long ResourceVersion,
    string Json,
    IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>The storage key, which also fixes list order: "namespace/name" or "name".</summary>
    public string Key => StoreKey(Namespace, Name);

    public static string StoreKey(string? ns, string name) => ns is null ? name : $"{ns}/{name}";

    public JsonObject ToNode() => JsonNode.Parse(Json)!.AsObject();

    /// <summary>The value a field selector sees for a field path; only the metadata ones are supported.</summary>
    public string? Field(string path) => path switch
    {
        "metadata.name" => Name,
        "metadata.namespace" => Namespace,
        _ => null,
    };

    public static StoredObject From(ResourceKind kind, JsonObject node)
    {
        var metadata = node["metadata"]?.AsObject();
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata?["labels"] is JsonObject labelNode)
        {
            foreach (var (key, value) in labelNode)
            {
                labels[key] = value?.GetValue<string>() ?? "";
            }
        }

        return new StoredObject(
            kind,
            kind.Namespaced ? (string?)metadata?["namespace"] : null,
            (string?)metadata?["name"] ?? "",
            long.TryParse((string?)metadata?["resourceVersion"], out var version) ? version : 0,
            node.ToJsonString(),
            labels);
    }
}
