using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Application.Abstractions;

namespace LoadBalancer.Infrastructure.Networking.Loopback;

/// <summary>
/// The link device for loopback pools (standalone mode): Linux already answers on all of 127.0.0.0/8, so nothing is
/// added to the kernel. It keeps the set of addresses it was asked to hold, and refuses any address loopback cannot
/// serve, so a misconfigured pool fails loudly instead of listening on nothing.
/// </summary>
internal sealed class LoopbackLinkDevice : ILinkDevice
{
    private readonly ConcurrentDictionary<IPAddress, byte> _held = new();

    public LoopbackLinkDevice(LinkMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        metrics.ObserveHeld(Name, () => _held.Count);
    }

    public string Name => "lo";

    public ValueTask<LinkOperationResult> AddAddressAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!IPAddress.IsLoopback(address))
        {
            return ValueTask.FromResult(LinkOperationResult.Failed(
                $"address {address} is not a loopback address; the loopback device serves only 127.0.0.0/8 and ::1"));
        }

        _held.TryAdd(address, 0);
        return ValueTask.FromResult(LinkOperationResult.Success);
    }

    public ValueTask<LinkOperationResult> RemoveAddressAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        _held.TryRemove(address, out _);
        return ValueTask.FromResult(LinkOperationResult.Success);
    }

    public ValueTask<IReadOnlyList<IPAddress>> ListAddressesAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<IPAddress>>([.. _held.Keys.OrderBy(address => address.ToString(), StringComparer.Ordinal)]);
}
