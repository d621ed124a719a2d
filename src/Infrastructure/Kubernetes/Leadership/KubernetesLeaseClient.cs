using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Kubernetes.Leadership;

/// <summary>One Lease through the client's <c>CoordinationV1</c> calls, with failures turned into answers.</summary>
internal sealed class KubernetesLeaseClient(IKubernetes client, string @namespace, string name) : ILeaseClient
{
    public Task<LeaseAnswer> ReadAsync(CancellationToken cancellationToken) =>
        AskAsync(() => client.CoordinationV1.ReadNamespacedLeaseAsync(name, @namespace, cancellationToken: cancellationToken), cancellationToken);

    public async Task<LeaseAnswer> CreateAsync(V1Lease lease, CancellationToken cancellationToken)
    {
        var answer = await AskAsync(() => client.CoordinationV1.CreateNamespacedLeaseAsync(lease, @namespace, cancellationToken: cancellationToken), cancellationToken)
            .ConfigureAwait(false);
        return answer.Kind == LeaseAnswerKind.NotFound ? LeaseAnswer.Status(404, $"namespace {@namespace} not found") : answer;
    }

    public Task<LeaseAnswer> ReplaceAsync(V1Lease lease, CancellationToken cancellationToken) =>
        AskAsync(() => client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, name, @namespace, cancellationToken: cancellationToken), cancellationToken);

    private static async Task<LeaseAnswer> AskAsync(Func<Task<V1Lease>> call, CancellationToken cancellationToken)
    {
        try
        {
            var lease = await call().ConfigureAwait(false);
            return lease is null ? LeaseAnswer.Malformed("an empty body") : LeaseAnswer.Of(lease);
        }
        catch (HttpOperationException failure) when (failure.Response is { } response)
        {
            return response.StatusCode switch
            {
                HttpStatusCode.NotFound => LeaseAnswer.NotFound,
                HttpStatusCode.Conflict => LeaseAnswer.Conflict,
                var status => LeaseAnswer.Status((int)status, response.ReasonPhrase),
            };
        }
        catch (HttpOperationException failure)
        {
            return LeaseAnswer.Unreachable(failure.Message);
        }
        catch (HttpRequestException failure)
        {
            return LeaseAnswer.Unreachable(failure.HttpRequestError == HttpRequestError.Unknown ? failure.Message : $"{failure.HttpRequestError}: {failure.Message}");
        }
        catch (Exception failure) when (FailureClassifier.IsNoAnswer(failure))
        {
            // What the informers count as no answer too: the connection broke while the body was read, a reset that
            // HttpClient does not wrap, a TLS handshake that failed.
            return LeaseAnswer.Unreachable(failure.Message);
        }
        catch (JsonException failure)
        {
            // A proxy in the way answering 200 with its own page, or a body cut short.
            return LeaseAnswer.Malformed(failure.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient's own timeout, not the caller's cancellation.
            return LeaseAnswer.TimedOut("the HTTP client's timeout");
        }
    }
}
