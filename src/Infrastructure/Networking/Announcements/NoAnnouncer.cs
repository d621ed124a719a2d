using System.Net;

namespace LoadBalancer.Infrastructure.Networking.Announcements;

/// <summary>For the loopback device: nobody else is on that link, so there is nobody to tell.</summary>
internal sealed class NoAnnouncer : IAddressAnnouncer
{
    public static NoAnnouncer Instance { get; } = new();

    public ValueTask AnnounceAsync(int interfaceIndex, string interfaceName, IPAddress address, CancellationToken ct) =>
        ValueTask.CompletedTask;
}
