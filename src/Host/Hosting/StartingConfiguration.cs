using LoadBalancer.Host.Configuration;

namespace LoadBalancer.Host.Hosting;

/// <summary>The configuration of a run, loaded and validated before anything is built.</summary>
public static class StartingConfiguration
{
    /// <returns>The configuration; null when it cannot be read or is invalid, after every problem was written to the
    /// error stream (the caller exits with <see cref="ExitCodes.UsageError"/>).</returns>
    public static async Task<StartedConfiguration?> LoadAsync(RunContext run, ConfigurationInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(inputs);
        LoadedConfiguration loaded;
        try
        {
            loaded = ConfigurationLayers.Load(inputs);
        }
        catch (ConfigurationFileException unreadable)
        {
            await run.FailAsync(ExitCodes.UsageError, [$"configuration file {unreadable.Message}"]).ConfigureAwait(false);
            return null;
        }

        var settings = DaemonSettings.From(loaded);
        var problems = new DaemonSettingsValidator(loaded).Problems(settings);
        if (problems.Count > 0)
        {
            await run.FailAsync(ExitCodes.UsageError, problems).ConfigureAwait(false);
            return null;
        }

        return new StartedConfiguration(inputs, loaded, settings);
    }

    public static ConfigurationInputs Inputs(RunContext run, DaemonMode mode, string? configFile, IReadOnlyDictionary<string, FlagValue> flags)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new ConfigurationInputs
        {
            Mode = mode,
            ConfigFile = configFile,
            Flags = flags,
            Environment = run.Environment,
            Locations = run.Seams.ConfigurationFiles,
            UnderSystemd = run.UnderSystemd,
        };
    }
}
