using LoadBalancer.Application.Allocation;
using LoadBalancer.Host.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Host;

/// <summary>The container of a serving mode: logs on the error stream, and a pool that is checked before anything runs.</summary>
internal static class DaemonServices
{
    public static IServiceCollection Create(TextWriter error) =>
        new ServiceCollection()
            .AddLogging(logging => logging.ClearProviders()
                .SetMinimumLevel(LogLevel.Information)
                .AddProvider(new TextWriterLoggerProvider(error, LogLevel.Information)));

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
}
