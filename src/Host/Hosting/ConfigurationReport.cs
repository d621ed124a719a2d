using LoadBalancer.Host.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Hosting;

/// <summary>Says at start which configuration file was read, or that none was and where it was looked for.</summary>
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

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
