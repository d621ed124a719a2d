namespace LoadBalancer.Infrastructure.Kubernetes.Pacing;

/// <summary>
/// Paces every request of the API client through one <see cref="ApiTokenBucket"/>, as client-go's rate limiter does:
/// Event writes as <see cref="RequestPriority.Background"/>, everything else as <see cref="RequestPriority.Normal"/>.
/// </summary>
internal sealed class ApiPacingHandler(ApiTokenBucket bucket) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await bucket.AcquireAsync(PriorityOf(request), cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes of events.k8s.io/v1 or core v1 Events go last; reading them back (at a term's start) does not.</summary>
    internal static RequestPriority PriorityOf(HttpRequestMessage request)
    {
        var path = request.RequestUri?.AbsolutePath ?? "";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // /apis/events.k8s.io/v1/..., /api/v1/events, /api/v1/namespaces/NS/events[/NAME]; not a Service named "events".
        var isEvent = segments is ["apis", "events.k8s.io", ..]
            || segments is ["api", "v1", "events", ..]
            || segments is ["api", "v1", "namespaces", _, "events", ..];
        return isEvent && request.Method != HttpMethod.Get ? RequestPriority.Background : RequestPriority.Normal;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bucket.Dispose();
        }

        base.Dispose(disposing);
    }
}
