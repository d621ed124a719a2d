using LoadBalancer.Infrastructure.Admin.StatusPage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

// In ASP.NET Core's namespace, as YARP puts MapReverseProxy: the admin endpoint's builder finds app.MapStatusPage()
// with the usings it already has, and its routes stay one line each.
namespace Microsoft.AspNetCore.Builder;

/// <summary>The live status page of the admin endpoint: the page at <c>/</c>, its script and style under <c>/ui/</c>.</summary>
internal static class StatusPageEndpoints
{
    /// <summary>GET only, like every route of the endpoint; the page reads <c>/api/v1/state</c> from the browser.</summary>
    public static IEndpointRouteBuilder MapStatusPage(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var asset in StatusPageAsset.All)
        {
            RequestDelegate write = asset.WriteAsync;
            endpoints.MapGet(asset.Route, write);
        }

        return endpoints;
    }
}
