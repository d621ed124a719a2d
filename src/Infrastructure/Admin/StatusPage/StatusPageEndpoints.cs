using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LoadBalancer.Infrastructure.Admin.StatusPage;

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
