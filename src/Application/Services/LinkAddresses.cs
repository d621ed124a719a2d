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
    private static async Task RemoveUnusedAsync(ILinkDevice link, IPAddress ip, ILogger logger, CancellationToken cancellationToken)
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

    /// <summary>
    /// Waits for the drains of listeners that were detached under the apply lock, then takes <paramref name="ip"/> off
    /// the link if, by then, no applied Service holds it (each of <paramref name="ips"/>). The drains run outside the lock so that one Service's
    /// connections finishing does not hold up every other Service; the address stays until they have finished, since
    /// without it their packets would no longer arrive.
    /// </summary>
    public static async Task RemoveAfterDrainsAsync(
        IAppliedServiceRegistry applied, ILinkDevice link, IReadOnlyList<Task> drains, IReadOnlyList<IPAddress> ips, ILogger logger)
    {
        await Task.WhenAll(drains).ConfigureAwait(false);
        if (ips.Count == 0)
        {
            return;
        }

        // Without the caller's token: a cancelled caller must still not leave an unused address behind.
        using (await applied.EnterAsync(CancellationToken.None).ConfigureAwait(false))
        {
            foreach (var ip in ips.Where(ip => !applied.IsIpHeld(ip)))
            {
                await RemoveUnusedAsync(link, ip, logger, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
