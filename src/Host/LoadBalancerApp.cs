using System.Reflection;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Host.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Host;

/// <summary>The command line's entry point, with its output streams passed in so tests can run it in-process.</summary>
public static class LoadBalancerApp
{
    public const int Success = 0;
    public const int UsageError = 2;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var parsed = CommandLineParser.Parse(args);
        if (!parsed.Succeeded)
        {
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
            }

            return UsageError;
        }

        var options = parsed.Options!;
        switch (options.Mode)
        {
            case RunMode.Version:
                await output.WriteLineAsync($"loadbalancer {Version}").ConfigureAwait(false);
                return Success;
            case RunMode.CheckPool:
                return await CheckPoolAsync(options, output, error).ConfigureAwait(false);
            default:
                await output.WriteLineAsync(CommandLineParser.Usage).ConfigureAwait(false);
                return Success;
        }
    }

    public static string Version =>
        typeof(LoadBalancerApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            .Split('+')[0] ?? "unknown";

    private static async Task<int> CheckPoolAsync(CommandLineOptions options, TextWriter output, TextWriter error)
    {
        var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddLoadBalancer(new AllocationOptions { Pool = options.RestrictedCidr, Excluded = options.Exclude });
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        IAllocationRegistry registry;
        try
        {
            registry = provider.GetRequiredService<IAllocationRegistry>();
        }
        catch (OptionsValidationException invalid)
        {
            foreach (var failure in invalid.Failures)
            {
                await error.WriteLineAsync($"error: --restricted-cidr/--exclude: {failure}").ConfigureAwait(false);
            }

            return UsageError;
        }

        var pool = registry.Pool;
        await output.WriteLineAsync($"pool: {pool}").ConfigureAwait(false);
        if (pool.Exclusions.Count > 0)
        {
            await output.WriteLineAsync($"excluded: {string.Join(", ", pool.Exclusions)}").ConfigureAwait(false);
        }

        await output.WriteLineAsync($"allocatable addresses: {pool.Size}").ConfigureAwait(false);
        await output.WriteLineAsync($"first addresses: {string.Join(", ", pool.FirstAddresses(4))}").ConfigureAwait(false);
        return Success;
    }
}
