using System.Reflection;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Host.Cluster;
using LoadBalancer.Host.CommandLine;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Demo;
using LoadBalancer.Host.Forward;
using LoadBalancer.Host.Standalone;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Host;

/// <summary>The command line's entry point, with its output streams passed in so tests can run it in-process.</summary>
public static class LoadBalancerApp
{
    public const int Success = 0;
    public const int UsageError = 2;

    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error) =>
        RunAsync(args, output, error, CancellationToken.None);

    /// <param name="cancellationToken">Stops the serving modes (Program cancels it on SIGINT and SIGTERM); they drain
    /// and exit 0.</param>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        // The serving modes write from listener and watcher threads too.
        output = TextWriter.Synchronized(output);
        error = TextWriter.Synchronized(error);
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
            case RunMode.Standalone:
                return await StandaloneMode.RunAsync(
                    new StandaloneOptions { File = options.StandaloneFile!, Reading = StandaloneMode.FileReading(options) },
                    options.StateFile,
                    new AllocationOptions { Pool = options.RestrictedCidr, Excluded = options.Exclude },
                    new ForwarderOptions { Engine = options.Engine },
                    output,
                    error,
                    cancellationToken,
                    options.LinkDevice is null ? null : new LinkDeviceOptions { DeviceName = options.LinkDevice == "auto" ? null : options.LinkDevice },
                    new AnnouncementOptions { Enabled = !options.NoAnnounce }).ConfigureAwait(false);
            case RunMode.Forward:
                return await ForwardMode.RunAsync(
                    new ForwardSettings(options.Listen[0], options.Backends) { Policy = options.Policy, HealthCheck = !options.NoHealthCheck },
                    new ForwarderOptions { Engine = options.Engine },
                    output,
                    error,
                    cancellationToken).ConfigureAwait(false);
            case RunMode.DemoBackend:
                return await DemoBackend.RunAsync(options.Listen, output, error, cancellationToken).ConfigureAwait(false);
            case RunMode.Cluster:
                return await ClusterMode.RunAsync(
                    ClusterSettings.From(options),
                    new AllocationOptions { Pool = options.RestrictedCidr, Excluded = options.Exclude },
                    new ForwarderOptions { Engine = options.Engine },
                    ClusterSettings.LinkDevice(options),
                    new AnnouncementOptions { Enabled = !options.NoAnnounce },
                    options.Cluster.Kubeconfig,
                    error,
                    cancellationToken).ConfigureAwait(false);
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
        var parsed = IpPool.Parse(options.RestrictedCidr, options.Exclude);
        if (parsed.Pool is not { } pool)
        {
            foreach (var failure in parsed.Errors)
            {
                await error.WriteLineAsync($"error: --restricted-cidr/--exclude: {failure}").ConfigureAwait(false);
            }

            return UsageError;
        }

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
