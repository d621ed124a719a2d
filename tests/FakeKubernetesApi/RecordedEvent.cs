namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>One event the server received, as a create (POST) or a series update (PATCH).</summary>
/// <param name="ApiGroup">"events.k8s.io/v1" or "v1".</param>
/// <param name="Name">The event's name (for a create, the one the server settled on).</param>
/// <param name="Reason">Reason of the event after the write (for an update, of the patched event).</param>
/// <param name="Note">events.k8s.io "note" or core "message".</param>
/// <param name="RegardingName">events.k8s.io "regarding.name" or core "involvedObject.name".</param>
/// <param name="IsUpdate">True for a PATCH (series update), false for a POST.</param>
/// <param name="Body">The JSON the client sent (for an update, the patch).</param>
/// <param name="StatusCode">The HTTP status the server answered with.</param>
public sealed record RecordedEvent(
    string ApiGroup,
    string Namespace,
    string? Name,
    string? Reason,
    string? Type,
    string? Note,
    string? RegardingName,
    bool IsUpdate,
    string Body,
    int StatusCode,
    DateTimeOffset At);
