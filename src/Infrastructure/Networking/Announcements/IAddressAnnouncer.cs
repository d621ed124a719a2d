using System.Net;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>
/// Tells the neighbours on a link that an address now lives behind this device, so they update their ARP / neighbour
/// caches at once instead of when their old entry expires (the step that makes a failover take seconds, not minutes).
/// </summary>
/// <remarks>
/// Best effort: failures are logged, never thrown, and cancellation ends the announcement quietly. The sockets are
/// opened before the first wait, in the caller's network namespace.
/// </remarks>
internal interface IAddressAnnouncer
{
    ValueTask AnnounceAsync(int interfaceIndex, string interfaceName, IPAddress address, CancellationToken ct);
}
