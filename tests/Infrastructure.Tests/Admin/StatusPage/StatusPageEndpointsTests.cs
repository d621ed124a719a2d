using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using LoadBalancer.Infrastructure.Admin.StatusPage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Admin.StatusPage;

/// <summary>
/// The status page's routes on a Kestrel of their own on a free loopback port: the embedded files, their content types,
/// the security and caching headers, and a page that loads nothing inline or from elsewhere.
/// </summary>
public sealed partial class StatusPageEndpointsTests : IAsyncLifetime, IDisposable
{
    private WebApplication? _app;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static TheoryData<string, string, string> Routes => new()
    {
        { "/", "index.html", "text/html" },
        { "/ui/status.js", "status.js", "text/javascript" },
        { "/ui/status.css", "status.css", "text/css" },
    };

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapStatusPage();
        await _app.StartAsync();
        _http.BaseAddress = new Uri(_app.Urls.Single());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public static TheoryData<string> Files => ["index.html", "status.js", "status.css"];

    public void Dispose() => _http.Dispose();

    [Theory]
    [MemberData(nameof(Files))]
    public void EachFile_IsEmbeddedAsWritten(string file)
    {
        var assembly = typeof(StatusPageAsset).Assembly;

        using var stream = assembly.GetManifestResourceStream(StatusPageAsset.ResourcePrefix + file);

        Assert.NotNull(stream);
        using var reader = new StreamReader(stream);
        Assert.Equal(File.ReadAllText(Source(file)), reader.ReadToEnd());
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Get_AnswersTheFile_WithItsContentType_AStrictPolicy_AndRevalidation(string route, string file, string contentType)
    {
        using var response = await _http.GetAsync(new Uri(route, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Equal(await File.ReadAllBytesAsync(Source(file)), await response.Content.ReadAsByteArrayAsync());
        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.StartsWith("default-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("style-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.True(response.Headers.CacheControl?.NoCache, $"Cache-Control: {response.Headers.CacheControl}");
        Assert.NotNull(response.Headers.ETag);
        Assert.False(response.Headers.ETag.IsWeak);
    }

    [Fact]
    public async Task Get_WithTheTagItHolds_IsNotModified_AlsoWeakOrInAList_AndWithAnotherGetsTheFile()
    {
        using var first = await _http.GetAsync(new Uri("/ui/status.js", UriKind.Relative));
        var tag = first.Headers.ETag!;

        using var same = new HttpRequestMessage(HttpMethod.Get, new Uri("/ui/status.js", UriKind.Relative)) { Headers = { IfNoneMatch = { tag } } };
        using var notModified = await _http.SendAsync(same);
        using var listed = new HttpRequestMessage(HttpMethod.Get, new Uri("/ui/status.js", UriKind.Relative));
        listed.Headers.TryAddWithoutValidation("If-None-Match", $"\"older\", W/{tag.Tag}");
        using var listedWeak = await _http.SendAsync(listed);
        using var other = new HttpRequestMessage(HttpMethod.Get, new Uri("/ui/status.js", UriKind.Relative)) { Headers = { IfNoneMatch = { new EntityTagHeaderValue("\"older\"") } } };
        using var changed = await _http.SendAsync(other);

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        Assert.Equal(tag, notModified.Headers.ETag);
        Assert.Equal(HttpStatusCode.NotModified, listedWeak.StatusCode);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEmpty(await changed.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task OnlyGet_AndOnlyThePagesFiles()
    {
        using var post = await _http.PostAsync(new Uri("/", UriKind.Relative), new StringContent("x"));
        using var other = await _http.GetAsync(new Uri("/ui/other.js", UriKind.Relative));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task Page_LoadsItsScriptAndStyleFromTheDaemon_AndHasNothingInline()
    {
        var html = await _http.GetStringAsync(new Uri("/", UriKind.Relative));

        // What the policy would block anyway; checked here so that the page is not silently broken by it.
        var urls = References().Matches(html).Select(match => match.Groups["url"].Value).ToList();
        Assert.All(urls, url => Assert.Matches("^/[^/]", url));
        Assert.Contains("/ui/status.js", urls);
        Assert.Contains("/ui/status.css", urls);
        Assert.Single(Regex.Matches(html, "<script", RegexOptions.IgnoreCase));
        Assert.Contains(@"<script src=""/ui/status.js"" defer></script>", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"<style|\sstyle=|\son[a-z]+=", html);
    }

    [Fact]
    public async Task Script_PutsTextIntoThePage_NeverMarkup()
    {
        // Reasons and Event messages are written by whoever may edit a Service: the script must never parse them as HTML.
        var script = await _http.GetStringAsync(new Uri("/ui/status.js", UriKind.Relative));

        Assert.DoesNotMatch(@"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(", script);
        Assert.Contains("textContent", script, StringComparison.Ordinal);
    }

    private static string Source(string file) => RepositoryRoot.Combine("src", "Infrastructure", "Admin", "StatusPage", file);

    [GeneratedRegex(@"\s(?:src|href)=""(?<url>[^""]+)""")]
    private static partial Regex References();
}
