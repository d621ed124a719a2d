using System.Net.Sockets;
using System.Security.Authentication;
using k8s;
using k8s.Autorest;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>What a failed list or watch says about the API server; it decides how soon the informer tries again.</summary>
internal enum FailureKind
{
    /// <summary>
    /// No HTTP answer at all: connection refused or reset, DNS, TLS handshake, a timeout, a stream dropped midway. The
    /// server is down or out of reach, and a retry costs it nothing.
    /// </summary>
    Unreachable,

    /// <summary>
    /// The server answered with an error (5xx, 429, 403, any other status, a body that does not read), so it is up and
    /// a retry loads it. Failures of no known kind count here too: backing off far is the cautious choice.
    /// </summary>
    Answered,

    /// <summary>The server answered 410 Gone / Expired: it no longer has the history asked for, and only a list helps.</summary>
    Expired,
}

/// <summary>Sorts the ways failures surface through <see cref="KubernetesResourceSource{T, TList}"/> and the client into <see cref="FailureKind"/>s.</summary>
internal static class FailureClassifier
{
    /// <remarks>
    /// The informer's own cancellations (stopping, a silent watch) are handled before this is asked, so a cancellation
    /// here is a request that timed out: the client gives every non-watch request 100 s.
    /// </remarks>
    public static FailureKind Classify(Exception error) => error switch
    {
        ResourceExpiredException => FailureKind.Expired,

        // A status on a request (HttpOperationException carries the response) or in a watch's ERROR event.
        HttpOperationException or KubernetesException => FailureKind.Answered,
        HttpRequestException { StatusCode: not null } => FailureKind.Answered,

        var noAnswer when IsNoAnswer(noAnswer) => FailureKind.Unreachable,
        TimeoutException or OperationCanceledException => FailureKind.Unreachable,

        _ => FailureKind.Answered,
    };

    /// <summary>
    /// The request got no HTTP answer: connect, DNS, TLS, or the connection ended first. HttpClient does not wrap every
    /// such failure: a reset right after connect surfaces as a bare SocketException (ENOTCONN from RemoteEndPoint).
    /// </summary>
    public static bool IsNoAnswer(Exception error) =>
        error is HttpRequestException { StatusCode: null } or IOException or SocketException or AuthenticationException;
}
