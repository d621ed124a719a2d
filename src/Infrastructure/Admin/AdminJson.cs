using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadBalancer.Infrastructure.Admin;

/// <summary>How the admin endpoint writes its JSON, and how clients of it read it: camelCase, enums as their names.</summary>
public static class AdminJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };
}

/// <summary>The body of <c>GET /api/v1/state</c>: the version, then the daemon's state (docs/observability.md).</summary>
public sealed record StateDocument(string ApiVersion, LoadBalancer.Application.State.DaemonState State)
{
    public const string Version = "v1";
}
