using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Host.Tools;

/// <summary><c>loadbalancer config</c>: every key with its effective value and where the value came from.</summary>
public static class ConfigCommand
{
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(run);
        LoadedConfiguration loaded;
        try
        {
            loaded = ConfigurationLayers.Load(inputs);
        }
        catch (ConfigurationFileException unreadable)
        {
            return await run.FailAsync(ExitCodes.UsageError, [$"configuration file {unreadable.Message}"]).ConfigureAwait(false);
        }

        await run.Output.WriteLineAsync(loaded.File is { } file
            ? $"# configuration file: {file} ({loaded.FileReason})"
            : $"# no configuration file: {loaded.FileReason}").ConfigureAwait(false);
        foreach (var (key, value, source) in Lines(loaded))
        {
            await run.Output.WriteLineAsync($"{key} = {value ?? "(none)"}  ({source})").ConfigureAwait(false);
        }

        var problems = new DaemonSettingsValidator(loaded).Problems(DaemonSettings.From(loaded));
        return problems.Count == 0 ? ExitCodes.Success : await run.FailAsync(ExitCodes.UsageError, problems).ConfigureAwait(false);
    }

    /// <summary>The known keys in their order, then any other key a layer set (pools, keys this version does not know).</summary>
    public static IReadOnlyList<(string Key, string? Value, string Source)> Lines(LoadedConfiguration loaded)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        var lines = Settings.All
            .Select(setting => (setting.Key, loaded.Root[setting.Key], loaded.Source(setting.Key) ?? ValueSources.Default))
            .ToList();
        var known = Settings.All.Select(setting => setting.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        lines.AddRange(loaded.Root.AsEnumerable()
            .Where(entry => entry.Value is not null && !known.Contains(entry.Key))
            .OrderBy(entry => entry.Key, StringComparer.OrdinalIgnoreCase)
            .Select(entry => (entry.Key, entry.Value, loaded.Source(entry.Key) ?? ValueSources.Default)));
        return lines;
    }
}
