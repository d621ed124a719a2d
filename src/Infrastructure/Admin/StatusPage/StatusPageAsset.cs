using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace LoadBalancer.Infrastructure.Admin.StatusPage;

/// <summary>
/// One file of the status page, embedded in this assembly and served from memory: the page must work on a machine that
/// reaches nothing but the daemon, so nothing comes from a CDN or the disk.
/// </summary>
internal sealed class StatusPageAsset
{
    /// <summary>
    /// Scripts and styles only from the daemon, none inline, no plugins, no framing, no forms: what the page shows comes
    /// from Services (reasons, Event messages) that anyone allowed to edit one can write, so markup slipping through must
    /// not be able to run or load anything.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Before the file's name in its resource name (the LogicalName in the project file).</summary>
    public const string ResourcePrefix = "StatusPage/";

    private readonly byte[] _content;

    private StatusPageAsset(string route, string fileName, string contentType, byte[] content)
    {
        Route = route;
        FileName = fileName;
        ContentType = contentType;
        _content = content;
        // A hash of the content rather than a build number: the same bytes keep their tag across restarts and upgrades
        // that do not touch the page, so a browser's copy stays good.
        ETag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16))}\"");
    }

    /// <summary>The page at <c>/</c> and what it loads under <c>/ui/</c>.</summary>
    public static IReadOnlyList<StatusPageAsset> All { get; } =
    [
        Load("/", "index.html", "text/html; charset=utf-8"),
        Load("/ui/status.js", "status.js", "text/javascript; charset=utf-8"),
        Load("/ui/status.css", "status.css", "text/css; charset=utf-8"),
    ];

    public string Route { get; }

    /// <summary>The file's name in Admin/StatusPage, which is also its resource name after <c>StatusPage/</c>.</summary>
    public string FileName { get; }

    public string ContentType { get; }

    public EntityTagHeaderValue ETag { get; }

    public ReadOnlyMemory<byte> Content => _content;

    /// <summary>
    /// The file, or 304 when the browser holds this version. <c>no-cache</c> with the tag: a browser asks each time
    /// (an upgraded daemon's page is never mixed with an old script) and gets a body only when the file changed.
    /// </summary>
    public Task WriteAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.Response;
        var headers = response.GetTypedHeaders();
        headers.ETag = ETag;
        headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";

        var asked = context.Request.GetTypedHeaders().IfNoneMatch;
        if (asked.Any(tag => tag.Compare(ETag, useStrongComparison: false) || tag.Equals(EntityTagHeaderValue.Any)))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = ContentType;
        response.ContentLength = _content.Length;
        return response.Body.WriteAsync(_content, context.RequestAborted).AsTask();
    }

    private static StatusPageAsset Load(string route, string fileName, string contentType)
    {
        var assembly = typeof(StatusPageAsset).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"the status page's {fileName} is not embedded in {assembly.GetName().Name} (EmbeddedResource with LogicalName {ResourcePrefix}{fileName})");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new StatusPageAsset(route, fileName, contentType, copy.ToArray());
    }
}
