using System.Text.Json.Nodes;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>A failure <c>Status</c> object. Written by hand: KubernetesJson reads V1Status but cannot write it.</summary>
internal sealed record ApiStatus(int Code, string Reason, string Message, ResourceKind? Kind = null, string? Name = null)
{
    public string ToJson()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
            ["reason"] = Reason,
            ["code"] = Code,
        };
        if (Kind is not null || Name is not null)
        {
            status["details"] = new JsonObject { ["name"] = Name, ["group"] = Kind?.Group, ["kind"] = Kind?.Plural };
        }

        return status.ToJsonString();
    }
}

/// <summary>The <c>Status</c> objects the real API server sends with every failure.</summary>
internal static class StatusBodies
{
    public static ApiStatus Status(int code, string reason, string message, ResourceKind? kind = null, string? name = null) =>
        new(code, reason, message, kind, name);

    public static ApiStatus NotFound(ResourceKind kind, string name) =>
        Status(404, "NotFound", $"{kind.QualifiedPlural} \"{name}\" not found", kind, name);

    public static ApiStatus AlreadyExists(ResourceKind kind, string name) =>
        Status(409, "AlreadyExists", $"{kind.QualifiedPlural} \"{name}\" already exists", kind, name);

    public static ApiStatus Conflict(ResourceKind kind, string name) =>
        Status(409, "Conflict", $"Operation cannot be fulfilled on {kind.QualifiedPlural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", kind, name);

    public static ApiStatus BadRequest(string message) => Status(400, "BadRequest", message);

    public static ApiStatus Invalid(ResourceKind kind, string name, string message) =>
        Status(422, "Invalid", $"{kind.Kind} \"{name}\" is invalid: {message}", kind, name);

    public static ApiStatus Unavailable() => Status(503, "ServiceUnavailable", "the fake API server is unavailable");

    public static ApiStatus ContinueExpired() => Status(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");

    public static ApiStatus UnsupportedMediaType(string? contentType) =>
        Status(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {contentType})");

    public static ApiStatus RouteNotFound() => Status(404, "NotFound", "the server could not find the requested resource");
}
