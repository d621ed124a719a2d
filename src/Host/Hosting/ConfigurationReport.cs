using LoadBalancer.Host.Configuration;
using LoadBalancer.Infrastructure.Os;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Hosting;

/// <summary>
/// Says at start which configuration file was read, or that none was and where it was looked for; and raises the soft
/// limit of open files to the hard one (every forwarded connection holds two), logging both.
/// </summary>
internal sealed class ConfigurationReport(LoadedConfiguration configuration, ILogger<ConfigurationReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (configuration.File is { } file)
        {
            HostLog.ConfigurationFile(logger, file, configuration.FileReason);
        }
        else
        {
            HostLog.NoConfigurationFile(logger, configuration.FileReason);
        }

        // Raised whether or not the line is logged.
        var limits = FileDescriptorLimit.Raise();
        HostLog.FileDescriptors(logger, limits);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
