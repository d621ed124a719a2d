using System.Net;

namespace LoadBalancer.Application.Abstractions;

/// <summary>
/// The network device that carries load-balancer addresses (rtnetlink on Linux, a no-op for loopback pools, an
/// in-memory fake in tests). Adding a present address and removing an absent one both succeed.
/// </summary>
public interface ILinkDevice
{
    string Name { get; }

    ValueTask<LinkOperationResult> AddAddressAsync(IPAddress address, CancellationToken cancellationToken);

    ValueTask<LinkOperationResult> RemoveAddressAsync(IPAddress address, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<IPAddress>> ListAddressesAsync(CancellationToken cancellationToken);
}

/// <summary>Success, or the reason the device refused (device missing, not permitted, kernel error text).</summary>
public sealed record LinkOperationResult(bool Succeeded, string? Error = null)
{
    public static LinkOperationResult Success { get; } = new(true);

    public static LinkOperationResult Failed(string error) => new(false, error);
}
