using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes;

public sealed class ApiFailureTextTests
{
    [Fact]
    public void AnsweredRequest_IsTheStatusCodeAndTheStatusMessage_NotTheClientsWords()
    {
        var body = """{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services is forbidden: User \"system:serviceaccount:kube-system:llb\" cannot list resource \"services\"","reason":"Forbidden","code":403}""";

        var text = ApiFailureText.Describe(Answered(HttpStatusCode.Forbidden, body));

        Assert.Equal("HTTP 403 Forbidden: 'services is forbidden: User \"system:serviceaccount:kube-system:llb\" cannot list resource \"services\"'", text);
    }

    [Fact]
    public void LongBodyThatIsNoStatus_IsShortenedWithItsLength_OnOneLine()
    {
        var page = "<html>\n<body>\n" + new string('x', 10_000) + "\n</body>\n</html>";

        var text = ApiFailureText.Describe(Answered(HttpStatusCode.BadGateway, page));

        Assert.StartsWith("HTTP 502 BadGateway: '<html> <body> xxx", text, StringComparison.Ordinal);
        Assert.EndsWith($"…' ({page.Length} characters)", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text);
        Assert.True(text.Length < 300, text);
    }

    [Fact]
    public void WatchErrorEvent_IsItsStatusCodeAndMessage()
    {
        var error = new KubernetesException(new V1Status { Code = 500, Message = "etcdserver: request timed out", Reason = "InternalError" });

        Assert.Equal("HTTP 500 InternalServerError: 'etcdserver: request timed out'", ApiFailureText.Describe(error));
    }

    [Fact]
    public void NoAnswer_IsTheClientsMessage_Quoted()
    {
        var error = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (10.0.0.1:6443)", new SocketException((int)SocketError.ConnectionRefused));

        Assert.Equal("'Connection refused (10.0.0.1:6443)'", ApiFailureText.Describe(error));
    }

    [Fact]
    public void EmptyBody_IsTheStatusCodeAlone() =>
        Assert.Equal("HTTP 503 ServiceUnavailable", ApiFailureText.Describe(Answered(HttpStatusCode.ServiceUnavailable, "")));

    internal static HttpOperationException Answered(HttpStatusCode status, string body) =>
        new($"Operation returned an invalid status code '{status}'")
        {
            Response = new HttpResponseMessageWrapper(new HttpResponseMessage(status), body),
        };
}
