using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using LoadBalancer.Host.Standalone;
using LoadBalancer.Infrastructure.Standalone;

namespace LoadBalancer.Host.Tools;

/// <summary>
/// <c>loadbalancer check [--config F] [FILE…]</c>: the configuration and the Services files, without touching the
/// network; every problem at once, exit 1 when anything is wrong.
/// </summary>
public static class CheckCommand
{
    public static async Task<int> RunAsync(RunContext run, ConfigurationInputs inputs, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(files);
        var problems = new List<string>();
        string described;
        var reading = new StandaloneFileOptions();
        try
        {
            var loaded = ConfigurationLayers.Load(inputs);
            var settings = DaemonSettings.From(loaded);
            problems.AddRange(new DaemonSettingsValidator(loaded).Problems(settings));
            reading = StandaloneMode.FileReading(settings);
            described = loaded.File is { } file ? $"configuration {file}" : "configuration (no file)";
        }
        catch (ConfigurationFileException unreadable)
        {
            problems.Add($"configuration file {unreadable.Message}");
            described = $"configuration {unreadable.Path}";
        }

        foreach (var file in files)
        {
            problems.AddRange(ServiceFileCheck.Check(file, reading).Select(problem => problem.ToString()));
        }

        foreach (var problem in problems)
        {
            await run.Error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
        }

        var checkedText = files.Count == 0 ? described : $"{described} and {files.Count} Services file{(files.Count == 1 ? "" : "s")}";
        await run.Output.WriteLineAsync(problems.Count == 0
            ? $"{checkedText}: no problems"
            : $"{checkedText}: {problems.Count} problem{(problems.Count == 1 ? "" : "s")}").ConfigureAwait(false);
        return problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }
}
