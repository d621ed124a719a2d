using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>
/// How the client-backed source turns the client's ways of reporting errors into what the informer understands. The
/// client passes a watch's ERROR event to <c>onError</c> and keeps reading; these tests play the client's part.
/// </summary>
public sealed class KubernetesResourceSourceTests
{
    private static V1Service Service(string name, string resourceVersion) => ScriptedResourceSource.Service(name, resourceVersion);

    [Fact]
    public async Task List_ReturnsItemsResourceVersionAndContinueToken()
    {
        string? askedContinue = null;
        var askedLimit = 0;
        var source = Source(list: (continueToken, limit, _) =>
        {
            (askedContinue, askedLimit) = (continueToken, limit);
            return Task.FromResult(new V1ServiceList
            {
                Items = [Service("a", "1")],
                Metadata = new V1ListMeta { ResourceVersion = "10", ContinueProperty = "next" },
            });
        });

        var page = await source.ListAsync("token", 7, CancellationToken.None);

        Assert.Equal(("token", 7), (askedContinue, askedLimit));
        Assert.Equal("10", page.ResourceVersion);
        Assert.Equal("next", page.Continue);
        Assert.Equal("a", Assert.Single(page.Items).Metadata.Name);
    }

    [Fact]
    public async Task List_LastPage_HasNoContinueToken()
    {
        var source = Source(list: (_, _, _) => Task.FromResult(new V1ServiceList
        {
            Items = [],
            Metadata = new V1ListMeta { ResourceVersion = "10", ContinueProperty = "" },
        }));

        var page = await source.ListAsync(null, 500, CancellationToken.None);

        Assert.Null(page.Continue);
    }

    [Fact]
    public async Task List_410Gone_IsResourceExpired()
    {
        var source = Source(list: (_, _, _) => throw HttpError(HttpStatusCode.Gone));

        await Assert.ThrowsAsync<ResourceExpiredException>(() => source.ListAsync("stale", 500, CancellationToken.None));
    }

    [Fact]
    public async Task List_OtherHttpError_IsPassedOn()
    {
        var source = Source(list: (_, _, _) => throw HttpError(HttpStatusCode.ServiceUnavailable));

        await Assert.ThrowsAsync<HttpOperationException>(() => source.ListAsync(null, 500, CancellationToken.None));
    }

    [Fact]
    public async Task Watch_PassesEventsOn_AndAsksForBookmarksFromTheResourceVersionWithTheTimeoutInSeconds()
    {
        (string ResourceVersion, int TimeoutSeconds)? asked = null;
        var source = Source(watch: (resourceVersion, timeoutSeconds, onError, ct) =>
        {
            asked = (resourceVersion, timeoutSeconds);
            return Events(onError, ct, new Sent(WatchEventType.Added, Service("a", "11")), new Sent(WatchEventType.Bookmark, ScriptedResourceSource.Bookmark("12")));
        });

        var events = await Collect(source.WatchAsync("10", TimeSpan.FromMinutes(5), CancellationToken.None));

        Assert.Equal(("10", 300), asked);
        Assert.Equal([(WatchEventType.Added, "11"), (WatchEventType.Bookmark, "12")], events.Select(e => (e.Type, e.Object.Metadata.ResourceVersion)));
    }

    [Fact]
    public async Task Watch_ErrorEvent410ReportedToOnError_IsResourceExpired()
    {
        var source = Source(watch: (_, _, onError, ct) => Events(
            onError,
            ct,
            new Sent(WatchEventType.Added, Service("a", "11")),
            new Reported(new KubernetesException(new V1Status { Code = 410, Reason = "Expired", Message = "too old resource version" }))));
        var received = new List<string>();

        var error = await Assert.ThrowsAsync<ResourceExpiredException>(async () =>
        {
            await foreach (var (_, obj) in source.WatchAsync("10", TimeSpan.FromMinutes(5), CancellationToken.None))
            {
                received.Add(obj.Metadata.ResourceVersion);
            }
        });

        Assert.Equal(["11"], received);
        Assert.IsType<KubernetesException>(error.InnerException);
    }

    [Fact]
    public async Task Watch_ErrorReportedBeforeALaterEvent_EndsTheWatchBeforeThatEvent()
    {
        var source = Source(watch: (_, _, onError, ct) => Events(
            onError,
            ct,
            new Reported(new KubernetesException(new V1Status { Code = 500, Reason = "InternalError", Message = "etcd hiccup" })),
            new Sent(WatchEventType.Modified, Service("a", "13"))));
        var received = new List<string>();

        await Assert.ThrowsAsync<KubernetesException>(async () =>
        {
            await foreach (var (_, obj) in source.WatchAsync("10", TimeSpan.FromMinutes(5), CancellationToken.None))
            {
                received.Add(obj.Metadata.ResourceVersion);
            }
        });

        Assert.Empty(received);
    }

    [Fact]
    public async Task Watch_410AnsweredToTheRequest_IsResourceExpired()
    {
        var source = Source(watch: (_, _, _, _) => Throwing(HttpError(HttpStatusCode.Gone)));

        await Assert.ThrowsAsync<ResourceExpiredException>(() => Collect(source.WatchAsync("1", TimeSpan.FromMinutes(5), CancellationToken.None)));
    }

    [Fact]
    public async Task Watch_OtherHttpError_IsPassedOn()
    {
        var source = Source(watch: (_, _, _, _) => Throwing(HttpError(HttpStatusCode.InternalServerError)));

        await Assert.ThrowsAsync<HttpOperationException>(() => Collect(source.WatchAsync("1", TimeSpan.FromMinutes(5), CancellationToken.None)));
    }

    [Fact]
    public void Sources_NameTheirKinds()
    {
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });

        Assert.Equal(
            ["Service", "Node", "EndpointSlice"],
            [KubernetesResourceSources.Services(client).Kind, KubernetesResourceSources.Nodes(client, "a=b").Kind, KubernetesResourceSources.EndpointSlices(client).Kind]);
    }

    private static KubernetesResourceSource<V1Service, V1ServiceList> Source(
        Func<string?, int, CancellationToken, Task<V1ServiceList>>? list = null,
        Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, V1Service)>>? watch = null) =>
        new(
            "Service",
            list ?? ((_, _, _) => throw new InvalidOperationException("not listed in this test")),
            watch ?? ((_, _, _, _) => throw new InvalidOperationException("not watched in this test")));

    private static HttpOperationException HttpError(HttpStatusCode status) =>
        new($"Operation returned an invalid status code '{status}'")
        {
            Response = new HttpResponseMessageWrapper(new HttpResponseMessage(status), "{\"kind\":\"Status\"}"),
        };

    /// <summary>
    /// Plays the client's enumerator: yields events, and for an ERROR line calls onError and goes on reading, as the
    /// client's Watcher does.
    /// </summary>
    private static async IAsyncEnumerable<(WatchEventType, V1Service)> Events(
        Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct, params Step[] steps)
    {
        foreach (var step in steps)
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield();
            switch (step)
            {
                case Sent sent:
                    yield return (sent.Type, sent.Object);
                    break;
                case Reported reported:
                    onError(reported.Error);
                    break;
            }
        }
    }

#pragma warning disable CS1998 // the async iterator only throws
    private static async IAsyncEnumerable<(WatchEventType, V1Service)> Throwing(Exception error)
    {
        throw error;
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }
#pragma warning restore CS1998

    private static async Task<List<(WatchEventType Type, V1Service Object)>> Collect(IAsyncEnumerable<(WatchEventType Type, V1Service Object)> events)
    {
        var collected = new List<(WatchEventType, V1Service)>();
        await foreach (var item in events)
        {
            collected.Add(item);
        }

        return collected;
    }

    internal abstract record Step;

    internal sealed record Sent(WatchEventType Type, V1Service Object) : Step;

    internal sealed record Reported(Exception Error) : Step;
}
