using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

internal enum LeaseAnswerKind
{
    /// <summary>HTTP 200/201 with the Lease.</summary>
    Lease,

    /// <summary>HTTP 404: there is no Lease (or it was deleted).</summary>
    NotFound,

    /// <summary>HTTP 409: someone else wrote the Lease first, or created it already.</summary>
    Conflict,

    /// <summary>Any other HTTP status: 401 and 403 from a server still warming up, 429, 5xx.</summary>
    Status,

    /// <summary>No answer in time.</summary>
    TimedOut,

    /// <summary>No connection: refused, reset, name not resolved.</summary>
    Unreachable,

    /// <summary>HTTP 2xx with a body that is not a Lease.</summary>
    Malformed,
}

/// <summary>One answer of the API server about the Lease. Only the first three kinds say anything about who holds it.</summary>
internal sealed record LeaseAnswer(LeaseAnswerKind Kind, V1Lease? Lease = null, int? StatusCode = null, string? Detail = null)
{
    public static LeaseAnswer NotFound { get; } = new(LeaseAnswerKind.NotFound, StatusCode: 404);

    public static LeaseAnswer Conflict { get; } = new(LeaseAnswerKind.Conflict, StatusCode: 409);

    /// <summary>True for an answer the elector can act on; every other one means "ask again later" and proves nothing.</summary>
    public bool IsUsable => Kind is LeaseAnswerKind.Lease or LeaseAnswerKind.NotFound or LeaseAnswerKind.Conflict;

    /// <summary>What an unusable answer was, without its detail: a change of this starts a new log line.</summary>
    public string Failure => Kind switch
    {
        LeaseAnswerKind.Status or LeaseAnswerKind.NotFound or LeaseAnswerKind.Conflict => $"HTTP {StatusCode}",
        LeaseAnswerKind.TimedOut => "timeout",
        LeaseAnswerKind.Unreachable => "unreachable",
        LeaseAnswerKind.Malformed => "malformed answer",
        _ => Kind.ToString(),
    };

    public static LeaseAnswer Of(V1Lease lease) => new(LeaseAnswerKind.Lease, lease);

    public static LeaseAnswer Status(int statusCode, string? reason = null) => new(LeaseAnswerKind.Status, StatusCode: statusCode, Detail: reason);

    public static LeaseAnswer TimedOut(string? detail = null) => new(LeaseAnswerKind.TimedOut, Detail: detail);

    public static LeaseAnswer Unreachable(string? detail = null) => new(LeaseAnswerKind.Unreachable, Detail: detail);

    public static LeaseAnswer Malformed(string? detail = null) => new(LeaseAnswerKind.Malformed, Detail: detail);

    public override string ToString() => Detail is null ? Failure : $"{Failure} ({Detail})";
}
