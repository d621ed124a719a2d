using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Host.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Host;

/// <summary>The container of a serving mode: logs on the error stream, a pool checked before anything runs, and the run.</summary>
internal static class DaemonServices
{
    public const int Served = 0;
    public const int SourceFailed = 1;

    public static IServiceCollection Create(TextWriter error, LogLevel level = LogLevel.Information) =>
        new ServiceCollection()
            .AddLogging(logging => logging.ClearProviders()
                .SetMinimumLevel(level)
                .AddProvider(new TextWriterLoggerProvider(error, level)));

    /// <returns>The provider; null when the pool options are invalid, after each problem was written to <paramref name="error"/>.</returns>
    public static async Task<ServiceProvider?> BuildAsync(IServiceCollection services, TextWriter error)
    {
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            _ = provider.GetRequiredService<IAllocationRegistry>();
            return provider;
        }
        catch (OptionsValidationException invalid)
        {
            foreach (var failure in invalid.Failures)
            {
                await error.WriteLineAsync($"error: --restricted-cidr/--exclude: {failure}").ConfigureAwait(false);
            }

            await provider.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>
    /// Runs the serving daemon and its adapter's companions (<see cref="IHostedService"/>) until
    /// <paramref name="stopping"/> is cancelled.
    /// </summary>
    /// <returns><see cref="Served"/>, or <see cref="SourceFailed"/> when the source of Services could not start.</returns>
    public static async Task<int> RunAsync(IServiceProvider provider, CancellationToken stopping)
    {
        var companions = provider.GetServices<IHostedService>().ToList();
        foreach (var companion in companions)
        {
            await companion.StartAsync(stopping).ConfigureAwait(false);
        }

        try
        {
            return await provider.GetRequiredService<ServingDaemon>().RunAsync(stopping).ConfigureAwait(false) ? Served : SourceFailed;
        }
        finally
        {
            foreach (var companion in companions)
            {
                await companion.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
