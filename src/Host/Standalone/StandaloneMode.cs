using LoadBalancer.Application.Services;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Infrastructure;
using LoadBalancer.Infrastructure.Standalone;
using LoadBalancer.Infrastructure.Standalone.State;

namespace LoadBalancer.Host.Standalone;

/// <summary>The daemon for a Services file instead of a cluster.</summary>
public static class StandaloneMode
{
    /// <summary>Which Services of a file are ours: the cluster mode's class settings.</summary>
    public static StandaloneFileOptions FileReading(DaemonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new StandaloneFileOptions
        {
            DefaultPolicy = settings.BalancingPolicy,
            LoadBalancerClass = string.IsNullOrWhiteSpace(settings.LoadBalancerClass) ? null : settings.LoadBalancerClass,
            ServeUnclassed = settings.ServesUnclassed,
        };
    }

    /// <returns>0 after a clean shutdown; 1 when the file cannot be used at start (nothing is served then); 2 for a bad
    /// configuration.</returns>
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, string file, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (await StartingConfiguration.LoadAsync(run, inputs).ConfigureAwait(false) is not { } configuration)
        {
            return ExitCodes.UsageError;
        }

        var settings = configuration.Settings;
        var standalone = new StandaloneOptions { File = file, Reading = FileReading(settings) };
        var problems = standalone.Validate();
        if (problems.Count > 0)
        {
            return await run.FailAsync(ExitCodes.UsageError, problems).ConfigureAwait(false);
        }

        StandaloneStateOptions state;
        try
        {
            state = new StandaloneStateOptions
            {
                Path = Path.GetFullPath(string.IsNullOrWhiteSpace(settings.StateFile) ? StandaloneStatePath.Default(standalone.File) : settings.StateFile),
            };
        }
        catch (InvalidOperationException noPlace)
        {
            return await run.FailAsync(ExitCodes.UsageError, [$"{Settings.StateFile}: {noPlace.Message}"]).ConfigureAwait(false);
        }

        var linkDevice = settings.LinkDeviceOptions(deviceIsDefault: false);
        if (!await StartupGate.PassAsync(run, linkDevice, settings.Announces, LowestPort(file, standalone.Reading)).ConfigureAwait(false))
        {
            return ExitCodes.Failure;
        }

        var builder = DaemonHost.CreateBuilder(run, configuration);
        builder.Services
            .AddLoadBalancer(
                settings.Allocation(),
                settings.Forwarder(),
                new ServiceOptions(),
                settings.Reconciler(),
                linkDevice,
                settings.Announcements())
            .AddStandaloneAdapter(standalone, state, new StandaloneConsole(run.Output, run.Error))
            .AddAdminEndpoint(settings.Admin())
            .AddServingDaemon();
        await run.Output.WriteLineAsync($"state: {state.Path}").ConfigureAwait(false);
        return await DaemonHost.RunAsync(builder, run, stopping).ConfigureAwait(false);
    }

    /// <summary>The lowest port the file's Services listen on now, for the start-up checks; null when it cannot be read
    /// yet (the source reports why).</summary>
    private static int? LowestPort(string file, StandaloneFileOptions reading)
    {
        try
        {
            var read = StandaloneServiceFile.Parse(File.ReadAllText(file), reading, file);
            var ports = read.Services.SelectMany(service => service.Spec.Ports).Select(port => port.Port).Where(port => port is > 0 and <= 65535);
            return ports.Any() ? ports.Min() : null;
        }
        catch (Exception unreadable) when (unreadable is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
