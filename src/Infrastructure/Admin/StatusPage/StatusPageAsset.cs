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
    private readonly EntityTagHeaderValue _entityTag;

    private StatusPageAsset(string route, string contentType, byte[] content)
    {
        Route = route;
        ContentType = contentType;
        _content = content;
        // A hash of the content rather than a build number: the same bytes keep their tag across restarts and upgrades
        // that do not touch the page, so a browser's copy stays good.
        ETag = $"\"{Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16))}\"";
        _entityTag = new EntityTagHeaderValue(ETag);
    }

    /// <summary>The page at <c>/</c> and what it loads under <c>/ui/</c>.</summary>
    public static IReadOnlyList<StatusPageAsset> All { get; } =
    [
        Load("/", "index.html", "text/html; charset=utf-8"),
        Load("/ui/status.js", "status.js", "text/javascript; charset=utf-8"),
        Load("/ui/status.css", "status.css", "text/css; charset=utf-8"),
    ];

    public string Route { get; }

    public string ContentType { get; }

    /// <summary>A strong entity tag, quoted.</summary>
    public string ETag { get; }

    /// <summary>
    /// The file, or 304 when the browser holds this version. <c>no-cache</c> with the tag: a browser asks each time
    /// (an upgraded daemon's page is never mixed with an old script) and gets a body only when the file changed.
    /// </summary>
    public Task WriteAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.Response;
        response.Headers.ETag = ETag;
        response.Headers.CacheControl = "no-cache";
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";

        if (Matches(context.Request.GetTypedHeaders().IfNoneMatch))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = ContentType;
        response.ContentLength = _content.Length;
        return response.Body.WriteAsync(_content, context.RequestAborted).AsTask();
    }

    /// <summary>
    /// Whether If-None-Match names this version: <c>*</c>, or the tag itself, weak (<c>W/</c>) or strong, in any of the
    /// lists (RFC 9110 compares weakly for GET). ASP.NET Core parses the header.
    /// </summary>
    private bool Matches(IList<EntityTagHeaderValue> ifNoneMatch) =>
        ifNoneMatch.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(_entityTag, useStrongComparison: false));

    private static StatusPageAsset Load(string route, string fileName, string contentType)
    {
        var assembly = typeof(StatusPageAsset).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"the status page's {fileName} is not embedded in {assembly.GetName().Name} (EmbeddedResource with LogicalName {ResourcePrefix}{fileName})");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new StatusPageAsset(route, contentType, copy.ToArray());
    }
}
