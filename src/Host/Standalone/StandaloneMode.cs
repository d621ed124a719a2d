using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Standalone;

/// <summary>Composes the daemon for a file instead of a cluster and runs it until cancelled.</summary>
public static class StandaloneMode
{
    public static async Task<int> RunAsync(
        StandaloneSettings settings,
        AllocationOptions allocation,
        ForwarderOptions forwarding,
        ServiceOptions serviceOptions,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken,
        LinkDeviceOptions? linkDevice = null,
        AnnouncementOptions? announcements = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(error);
        var services = DaemonServices.Create(error).AddLoadBalancer(allocation, forwarding, serviceOptions, linkDevice, announcements);
        await using var provider = await DaemonServices.BuildAsync(services, error).ConfigureAwait(false);
        if (provider is null)
        {
            return LoadBalancerApp.UsageError;
        }

        var reconciler = new StandaloneReconciler(
            settings,
            provider.GetRequiredService<IMediator>(),
            output,
            error,
            provider.GetRequiredService<ILogger<StandaloneReconciler>>());
        return await reconciler.RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
