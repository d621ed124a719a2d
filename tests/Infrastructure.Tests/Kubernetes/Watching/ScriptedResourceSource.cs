using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>
/// A resource source whose lists and watches the test answers one by one: a list call waits for the next
/// <see cref="ReplyToList"/> or <see cref="FailList"/>, and each watch call appears in <see cref="NextWatchAsync"/>
/// for the test to send events into. While <see cref="Unreachable"/> is set, every call fails at once instead, as
/// calls to an API server that is down do.
/// </summary>
internal sealed class ScriptedResourceSource(TimeProvider time) : IResourceSource<V1Service>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);
    private readonly Channel<Func<ResourcePage<V1Service>>> _listReplies = Channel.CreateUnbounded<Func<ResourcePage<V1Service>>>();
    private readonly Channel<ScriptedWatch> _watches = Channel.CreateUnbounded<ScriptedWatch>();
    private volatile Exception? _unreachable;

    public string Kind => "Service";

    /// <summary>The continue token of each list call, in order.</summary>
    public ConcurrentQueue<string?> ListRequests { get; } = new();

    /// <summary>The (fake) time of each list call, in order.</summary>
    public ConcurrentQueue<DateTimeOffset> ListTimes { get; } = new();

    /// <summary>The resourceVersion and (fake) time of each watch call, in order.</summary>
    public ConcurrentQueue<(string ResourceVersion, DateTimeOffset At)> WatchRequests { get; } = new();

    /// <summary>When set, each list and watch call fails with it at once, without a reply or a watch for the test.</summary>
    public Exception? Unreachable
    {
        get => _unreachable;
        set => _unreachable = value;
    }

    /// <summary>What HttpClient throws when nothing listens on the API server's port.</summary>
    public static HttpRequestException ConnectionRefused() =>
        new(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:6443)", new SocketException((int)SocketError.ConnectionRefused));

    /// <summary>What the client throws when the API server answers a request with <paramref name="status"/>.</summary>
    public static HttpOperationException Answered(HttpStatusCode status) =>
        new($"Operation returned an invalid status code '{status}'")
        {
            Response = new HttpResponseMessageWrapper(new HttpResponseMessage(status), "{\"kind\":\"Status\"}"),
        };

    public void ReplyToList(string resourceVersion, string? continueToken, params V1Service[] items) =>
        _listReplies.Writer.TryWrite(() => new ResourcePage<V1Service>(items, resourceVersion, continueToken));

    public void FailList(Exception error) => _listReplies.Writer.TryWrite(() => throw error);

    public async Task<ResourcePage<V1Service>> ListAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        ListRequests.Enqueue(continueToken);
        ListTimes.Enqueue(time.GetUtcNow());
        if (_unreachable is { } unreachable)
        {
            throw unreachable;
        }

        var reply = await _listReplies.Reader.ReadAsync(cancellationToken);
        return reply();
    }

    public async IAsyncEnumerable<(WatchEventType Type, V1Service Object)> WatchAsync(
        string resourceVersion, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        WatchRequests.Enqueue((resourceVersion, time.GetUtcNow()));
        if (_unreachable is { } unreachable)
        {
            throw unreachable;
        }

        var watch = new ScriptedWatch(resourceVersion);
        await using var registration = cancellationToken.Register(() => watch.Cancelled.TrySetResult());
        _watches.Writer.TryWrite(watch);
        await foreach (var item in watch.Items.Reader.ReadAllAsync(cancellationToken))
        {
            if (item.Error is not null)
            {
                throw item.Error;
            }

            yield return (item.Type, item.Object!);
        }
    }

    /// <summary>The next watch the informer opens, waiting up to 5 s for it.</summary>
    public async Task<ScriptedWatch> NextWatchAsync()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        return await _watches.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>
    /// The next watch, advancing <paramref name="fakeTime"/> a little at a time (for backoffs) until it comes or 5 s
    /// of real time have passed.
    /// </summary>
    public async Task<ScriptedWatch> NextWatchAsync(FakeTimeProvider fakeTime, TimeSpan step)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            if (_watches.Reader.TryRead(out var watch))
            {
                return watch;
            }

            fakeTime.Advance(step);
            await Task.Delay(5);
        }

        throw new TimeoutException("No watch was opened within 5 s.");
    }

    /// <summary>Waits (up to 5 s, advancing <paramref name="fakeTime"/> when given) until a list call has been made.</summary>
    public async Task WaitForListRequestsAsync(int count, FakeTimeProvider? fakeTime = null, TimeSpan step = default)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (ListRequests.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{count} list calls were not made within 5 s; {ListRequests.Count} were.");
            }

            fakeTime?.Advance(step);
            await Task.Delay(5);
        }
    }

    public static V1Service Service(string name, string resourceVersion, string ns = "default") =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, ResourceVersion = resourceVersion } };

    public static V1Service Bookmark(string resourceVersion) =>
        new() { Metadata = new V1ObjectMeta { ResourceVersion = resourceVersion } };
}

internal sealed record ScriptedItem(WatchEventType Type, V1Service? Object, Exception? Error);

/// <summary>One open watch: what the test sends into it reaches the informer in order.</summary>
internal sealed class ScriptedWatch(string resourceVersion)
{
    public string ResourceVersion { get; } = resourceVersion;

    public Channel<ScriptedItem> Items { get; } = Channel.CreateUnbounded<ScriptedItem>();

    /// <summary>Completes when the informer cancels this watch (silence, or stopping).</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Send(WatchEventType type, V1Service obj) => Items.Writer.TryWrite(new ScriptedItem(type, obj, null));

    public void Fail(Exception error) => Items.Writer.TryWrite(new ScriptedItem(default, null, error));

    /// <summary>The server ends the watch normally.</summary>
    public void End() => Items.Writer.TryComplete();
}
