using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Host.CommandLine;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Networking.Announcements;
using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Standalone;
using LoadBalancer.Infrastructure.Standalone.State;

namespace LoadBalancer.Host.Standalone;

/// <summary>Composes the daemon for a file instead of a cluster and runs it until cancelled.</summary>
public static class StandaloneMode
{
    /// <summary>Which Services of a file are ours: the cluster mode's class flags.</summary>
    public static StandaloneFileOptions FileReading(CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new StandaloneFileOptions
        {
            DefaultPolicy = options.Policy,
            LoadBalancerClass = options.Cluster.LoadBalancerClass,
            ServeUnclassed = !options.Cluster.IgnoreUnclassed,
        };
    }

    /// <param name="stateFile">Where the IPs are kept across restarts; null takes the default place.</param>
    /// <returns>0 after a clean shutdown; 1 when the file cannot be used at start (nothing is served then); 2 for a bad pool.</returns>
    public static async Task<int> RunAsync(
        StandaloneOptions standalone,
        string? stateFile,
        AllocationOptions allocation,
        ForwarderOptions forwarding,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken,
        LinkDeviceOptions? linkDevice = null,
        AnnouncementOptions? announcements = null)
    {
        ArgumentNullException.ThrowIfNull(standalone);
        ArgumentNullException.ThrowIfNull(error);
        var problems = standalone.Validate();
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
            }

            return LoadBalancerApp.UsageError;
        }

        StandaloneStateOptions state;
        try
        {
            state = new StandaloneStateOptions { Path = Path.GetFullPath(stateFile ?? StandaloneStatePath.Default(standalone.File)) };
        }
        catch (InvalidOperationException noPlace)
        {
            await error.WriteLineAsync($"error: --state-file: {noPlace.Message}").ConfigureAwait(false);
            return LoadBalancerApp.UsageError;
        }

        var services = DaemonServices.Create(error)
            .AddLoadBalancer(allocation, forwarding, new ServiceOptions(), new ReconcilerOptions(), linkDevice, announcements)
            .AddStandaloneAdapter(standalone, state, new StandaloneConsole(output, error));
        await using var provider = await DaemonServices.BuildAsync(services, error).ConfigureAwait(false);
        if (provider is null)
        {
            return LoadBalancerApp.UsageError;
        }

        await output.WriteLineAsync($"state: {state.Path}").ConfigureAwait(false);
        return await DaemonServices.RunAsync(provider, cancellationToken).ConfigureAwait(false);
    }
}
