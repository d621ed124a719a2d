using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Application.Services.RemoveStaleAddresses;

/// <summary>
/// Removes pool addresses that are on the link device but wanted by no applied Service: what a crash left behind.
/// Send it only after the first full reconciliation, never before, or a Service not yet applied loses its address.
/// Addresses outside the pools are never touched: the device belongs to the host too.
/// </summary>
public sealed record RemoveStaleAddresses : ICommand<RemoveStaleAddressesResponse>;

/// <param name="Removed">The stale addresses taken off the device.</param>
/// <param name="Failures">Stale addresses the device refused to remove, with its reason.</param>
public sealed record RemoveStaleAddressesResponse(IReadOnlyList<IPAddress> Removed, IReadOnlyList<string> Failures);

public sealed class RemoveStaleAddressesHandler(
    IAllocationRegistry allocations,
    IAppliedServiceRegistry applied,
    ILinkDevice link,
    ILogger<RemoveStaleAddressesHandler> logger)
    : ICommandHandler<RemoveStaleAddresses, RemoveStaleAddressesResponse>
{
    public async ValueTask<RemoveStaleAddressesResponse> Handle(RemoveStaleAddresses command, CancellationToken cancellationToken)
    {
        // Under the apply lock: an address cannot become wanted between the check and the removal.
        using (await applied.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            var removed = new List<IPAddress>();
            var failures = new List<string>();
            var pools = allocations.Pools;
            foreach (var address in await link.ListAddressesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!pools.Any(pool => pool.Addresses.Contains(address)) || applied.IsIpHeld(address))
                {
                    continue;
                }

                var result = await link.RemoveAddressAsync(address, cancellationToken).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    removed.Add(address);
                    ServiceLog.StaleAddressRemoved(logger, address, link.Name);
                }
                else
                {
                    var failure = $"stale address {address} on {link.Name}: {result.Error}";
                    failures.Add(failure);
                    ServiceLog.StaleAddressNotRemoved(logger, address, link.Name, result.Error ?? "unknown error");
                }
            }

            return new RemoveStaleAddressesResponse(removed, failures);
        }
    }
}
