using System.Text;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>Writing JSON answers the way the API server does.</summary>
internal static class HttpJson
{
    public const string ContentType = "application/json";

    public static Task WriteStatusAsync(HttpContext context, ApiStatus status) =>
        WriteAsync(context, status.Code, status.ToJson());

    public static async Task WriteAsync(HttpContext context, int statusCode, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = ContentType;
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    public static async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
