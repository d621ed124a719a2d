using LoadBalancer.Application.Abstractions;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host.Hosting;

/// <summary>
/// Builds the link device and the forwarder when the host starts, not when the first term first needs them: opening
/// rtnetlink, finding the device and starting the forwarder's loops took 130–185 ms of a standby's takeover (issue 14's
/// measurement), time the Services were not served. It does nothing else.
/// </summary>
internal sealed class AdapterActivation : IHostedService
{
    public AdapterActivation(ILinkDevice link, IForwarder forwarder)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(forwarder);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
