using System.Text.Json.Serialization;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>The state file as written: <c>{"version":1,"services":[{"namespace":…,"name":…,"ip":…}]}</c>; a dual-stack Service adds <c>"ips":[…]</c>.</summary>
internal sealed record StandaloneStateDocument(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("services")] IReadOnlyList<StandaloneStateEntry> Services);

internal sealed record StandaloneStateEntry(
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("ip")] string Ip)
{
    /// <summary>Every IP, primary first, written only for a Service with more than one (dual-stack); "ip" stays the
    /// primary, so the file keeps version 1 and a single-stack entry reads as before.</summary>
    [JsonPropertyName("ips")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Ips { get; init; }
}

/// <summary>
/// Writing only. Reading walks a JsonDocument instead, so that one unusable entry is skipped with its own reason
/// rather than failing the whole file.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(StandaloneStateDocument))]
internal sealed partial class StandaloneStateJson : JsonSerializerContext;
