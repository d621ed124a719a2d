using System.Net;
using LoadBalancer.Application.Abstractions;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Services;

/// <summary>Taking an address off the link once no Service holds it, as applying and removing Services both do.</summary>
internal static class LinkAddresses
{
    /// <summary>
    /// Removes <paramref name="ip"/> and logs the outcome. A failure is logged, not returned: the Services run without
    /// the address already, so an address left on the link is untidy, not wrong.
    /// </summary>
    public static async Task RemoveUnusedAsync(ILinkDevice link, IPAddress ip, ILogger logger, CancellationToken cancellationToken)
    {
        var removed = await link.RemoveAddressAsync(ip, cancellationToken).ConfigureAwait(false);
        if (removed.Succeeded)
        {
            ServiceLog.AddressRemoved(logger, ip, link.Name);
        }
        else
        {
            ServiceLog.AddressRemoveFailed(logger, ip, link.Name, removed.Error ?? "unknown error");
        }
    }
}
