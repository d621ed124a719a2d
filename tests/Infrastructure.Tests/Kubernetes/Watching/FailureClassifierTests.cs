using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using k8s;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

public sealed class FailureClassifierTests
{
    [Theory]
    [InlineData("connection refused", nameof(FailureKind.Unreachable))]
    [InlineData("name resolution", nameof(FailureKind.Unreachable))]
    [InlineData("TLS handshake", nameof(FailureKind.Unreachable))]
    [InlineData("response ended before its headers", nameof(FailureKind.Unreachable))]
    [InlineData("stream dropped", nameof(FailureKind.Unreachable))]
    [InlineData("socket reset", nameof(FailureKind.Unreachable))]
    [InlineData("request timed out", nameof(FailureKind.Unreachable))]
    [InlineData("503", nameof(FailureKind.Answered))]
    [InlineData("500", nameof(FailureKind.Answered))]
    [InlineData("429", nameof(FailureKind.Answered))]
    [InlineData("403", nameof(FailureKind.Answered))]
    [InlineData("401", nameof(FailureKind.Answered))]
    [InlineData("404", nameof(FailureKind.Answered))]
    [InlineData("status on an HttpRequestException", nameof(FailureKind.Answered))]
    [InlineData("ERROR event in a watch", nameof(FailureKind.Answered))]
    [InlineData("unreadable body", nameof(FailureKind.Answered))]
    [InlineData("something else", nameof(FailureKind.Answered))]
    [InlineData("410 Expired", nameof(FailureKind.Expired))]
    public void Classify_SaysWhetherTheServerAnswered(string failure, string expected)
    {
        Assert.Equal(expected, FailureClassifier.Classify(Failure(failure)).ToString());
    }

    private static Exception Failure(string failure) => failure switch
    {
        "connection refused" => ScriptedResourceSource.ConnectionRefused(),
        "name resolution" => new HttpRequestException(HttpRequestError.NameResolutionError, "Name or service not known (api.cluster:6443)", new SocketException((int)SocketError.HostNotFound)),
        "TLS handshake" => new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established", new AuthenticationException("remote certificate is invalid")),
        "response ended before its headers" => new HttpRequestException(HttpRequestError.ResponseEnded, "An error occurred while sending the request.", new HttpIOException(HttpRequestError.ResponseEnded, "The response ended prematurely.")),
        "stream dropped" => new IOException("Unable to read data from the transport connection: Connection reset by peer."),
        "socket reset" => new SocketException((int)SocketError.ConnectionReset),
        "request timed out" => new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout", new TimeoutException()),
        "status on an HttpRequestException" => new HttpRequestException("Response status code does not indicate success: 503", null, HttpStatusCode.ServiceUnavailable),
        "ERROR event in a watch" => new KubernetesException(new V1Status { Code = 500, Reason = "InternalError", Message = "etcd hiccup" }),
        "unreadable body" => new JsonException("'<' is an invalid start of a value."),
        "something else" => new InvalidOperationException("a bug"),
        "410 Expired" => new ResourceExpiredException("too old resource version"),
        _ when int.TryParse(failure, out var status) => ScriptedResourceSource.Answered((HttpStatusCode)status),
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "no such failure in this test"),
    };
}
