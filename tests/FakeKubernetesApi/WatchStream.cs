using System.Text;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>
/// A watch response: HTTP 200, chunked, one JSON event per line, flushed as soon as no further line is waiting.
/// It ends when the subscription ends (DropWatches), at timeoutSeconds, or when the client or server goes away.
/// </summary>
internal static class WatchStream
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public static async Task WriteAsync(HttpContext context, ObjectStore store, WatchSubscription watch, TimeSpan? timeout, CancellationToken stopping)
    {
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        if (timeout is { } limit)
        {
            ending.CancelAfter(limit);
        }

        try
        {
            await StartAsync(context).ConfigureAwait(false);
            var lines = watch.Lines;
            while (await lines.WaitToReadAsync(ending.Token).ConfigureAwait(false))
            {
                while (lines.TryRead(out var line))
                {
                    await WriteLineAsync(context, line, ending.Token).ConfigureAwait(false);
                }

                await context.Response.Body.FlushAsync(ending.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ending.IsCancellationRequested)
        {
            // Timeout, client gone or server stopping: the stream simply ends.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
        finally
        {
            store.CloseWatch(watch);
        }
    }

    /// <summary>What the real server does for a watch from a compacted resourceVersion: 200, one ERROR line, end.</summary>
    public static async Task WriteExpiredAsync(HttpContext context, long requested, long horizon)
    {
        await StartAsync(context).ConfigureAwait(false);
        await WriteLineAsync(context, WatchHub.ExpiredLine(requested, horizon), context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static Task StartAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = HttpJson.ContentType;
        return context.Response.StartAsync(context.RequestAborted);
    }

    private static async Task WriteLineAsync(HttpContext context, string line, CancellationToken ct)
    {
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line), ct).ConfigureAwait(false);
        await context.Response.Body.WriteAsync(NewLine, ct).ConfigureAwait(false);
    }
}
