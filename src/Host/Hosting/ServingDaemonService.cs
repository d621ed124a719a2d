using LoadBalancer.Application.Reconciliation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Hosting;

/// <summary>
/// The serving daemon as a hosted service, registered last so that it stops first: its stand-down drains connections
/// (for drainTimeout) and releases the addresses before the adapter's companions stop. A source that cannot start ends
/// the host with exit code 1.
/// </summary>
internal sealed class ServingDaemonService(ServingDaemon daemon, DaemonOutcome outcome, IHostApplicationLifetime lifetime, ILogger<ServingDaemonService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (await daemon.RunAsync(stoppingToken).ConfigureAwait(false))
            {
                return;
            }
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            HostLog.DaemonFailed(logger, failure.Message, failure);
        }

        outcome.Fail(ExitCodes.Failure);
        lifetime.StopApplication();
    }
}
