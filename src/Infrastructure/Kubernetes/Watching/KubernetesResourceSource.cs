using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace LoadBalancer.Infrastructure.Kubernetes.Watching;

/// <summary>
/// A list and a watch of one kind through the client's generated operations, with the server's "too old" answers
/// turned into <see cref="ResourceExpiredException"/>.
/// </summary>
/// <remarks>
/// The client reports a watch's ERROR event (the 410 Expired a server sends with status 200 when the watch's
/// resourceVersion has been compacted) only to the <c>onError</c> callback, then keeps reading: the enumeration would
/// simply end. So every error it reports ends the watch here with an exception, before any later event is passed on,
/// because an event after a skipped one would move the resourceVersion past the change that was lost.
/// </remarks>
internal sealed class KubernetesResourceSource<T, TList>(
    string kind,
    Func<string?, int, CancellationToken, Task<TList>> list,
    Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch)
    : IResourceSource<T>
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IMetadata<V1ListMeta>, IItems<T>
{
    public string Kind => kind;

    public async Task<ResourcePage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        TList page;
        try
        {
            page = await list(continueToken, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
        {
            throw new ResourceExpiredException($"The {kind} list's continue token has expired", e);
        }

        var items = page.Items is null ? [] : (IReadOnlyList<T>)[.. page.Items];
        return new ResourcePage<T>(items, page.Metadata?.ResourceVersion ?? string.Empty, NullIfEmpty(page.Metadata?.ContinueProperty));
    }

    public async IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
        string resourceVersion, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Exception? reported = null;
        var timeoutSeconds = (int)Math.Max(1, Math.Ceiling(timeout.TotalSeconds));
        var events = watch(resourceVersion, timeoutSeconds, e => reported ??= e, cancellationToken);
        var enumerator = events.GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await enumerator.MoveNextAsync().ConfigureAwait(false);
                }
                catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
                {
                    throw Expired(resourceVersion, e);
                }
                catch (HttpRequestException e) when (EndedBeforeItsFirstLine(e))
                {
                    // The client reads a watch's first line before it hands the stream over, so a server that closes a
                    // quiet watch (its timeout, a restart) shows up as an exception: it is the end of the watch.
                    yield break;
                }

                if (reported is not null)
                {
                    throw IsExpired(reported) ? Expired(resourceVersion, reported) : reported;
                }

                if (!more)
                {
                    yield break;
                }

                yield return enumerator.Current;
            }
        }
    }

    private static bool EndedBeforeItsFirstLine(HttpRequestException error)
    {
        for (Exception? cause = error; cause is not null; cause = cause.InnerException)
        {
            if (cause is EndOfStreamException)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsExpired(Exception error) =>
        error is KubernetesException { Status: { } status }
        && (status.Code == (int)HttpStatusCode.Gone || status.Reason is "Expired" or "Gone");

    private ResourceExpiredException Expired(string resourceVersion, Exception cause) =>
        new($"The {kind} watch from resourceVersion {resourceVersion} has expired: {cause.Message}", cause);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
