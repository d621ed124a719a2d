using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Signals;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Host.Hosting;

/// <summary>The configuration a daemon started with, and what it was built from (a reload builds it again).</summary>
public sealed record StartedConfiguration(ConfigurationInputs Inputs, LoadedConfiguration Loaded, DaemonSettings Settings);

/// <summary>
/// The generic host every serving mode runs in: its configuration, the settings validated at start, the console log,
/// systemd integration, the signals, and a shutdown long enough for the drain.
/// </summary>
public static class DaemonHost
{
    /// <summary>What the host gives beyond the drain before it stops waiting for its services.</summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(10);

    public static HostApplicationBuilder CreateBuilder(RunContext run, StartedConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(configuration);
        // No default providers: the configuration is ours (defaults < file < environment < flags), the log is ours.
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "loadbalancer",
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Configuration.AddConfiguration(configuration.Loaded.Root);
        var settings = configuration.Settings;
        builder.Services.AddSingleton(run);
        builder.Services.AddSingleton(configuration);
        builder.Services.AddSingleton(configuration.Loaded);
        builder.Services.AddSingleton<IValidateOptions<DaemonSettings>, DaemonSettingsValidator>();
        builder.Services.AddOptions<DaemonSettings>().Bind(configuration.Loaded.Root).ValidateOnStart();
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = settings.Drain + ShutdownMargin);
        builder.Services.AddSingleton<DaemonOutcome>();
        builder.Services.AddHostedService<ConfigurationReport>();
        builder.Services.AddSignals();

        // Type=notify and journald priorities under systemd; nothing otherwise. Before the log format, which wins.
        builder.Services.AddSystemd();
        ConfigureLogging(builder.Logging, settings, run.Seams);
        return builder;
    }

    /// <summary>Builds and runs the host until <paramref name="stopping"/> is cancelled or a signal stops it.</summary>
    public static async Task<int> RunAsync(HostApplicationBuilder builder, RunContext run, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(run);
        run.Seams.Services?.Invoke(builder.Services);
        using var host = builder.Build();
        run.Seams.Built?.Invoke(host.Services);
        var outcome = host.Services.GetRequiredService<DaemonOutcome>();
        try
        {
            await host.RunAsync(stopping).ConfigureAwait(false);
        }
        catch (OptionsValidationException invalid)
        {
            return await run.FailAsync(ExitCodes.UsageError, invalid.Failures).ConfigureAwait(false);
        }

        return outcome.ExitCode;
    }

    /// <summary>
    /// One line per event on standard error: text with a timestamp, JSON, or systemd's format; Debug with
    /// <c>debug</c>, and the framework's own categories only from Warning unless debugging.
    /// </summary>
    public static void ConfigureLogging(ILoggingBuilder logging, DaemonSettings settings, HostSeams seams)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(seams);
        var debug = settings.IsDebug;
        logging.ClearProviders();
        logging.SetMinimumLevel(debug ? LogLevel.Debug : LogLevel.Information);
        logging.AddFilter("Microsoft", debug ? LogLevel.Debug : LogLevel.Warning);
        logging.AddFilter("System", debug ? LogLevel.Debug : LogLevel.Warning);
        if (seams.Logging is { } replace)
        {
            replace(logging);
            return;
        }

        logging.AddConsole(options =>
        {
            options.FormatterName = settings.Format switch
            {
                LogFormat.Json => ConsoleFormatterNames.Json,
                LogFormat.Systemd => ConsoleFormatterNames.Systemd,
                _ => ConsoleFormatterNames.Simple,
            };
            options.LogToStandardErrorThreshold = LogLevel.Trace;
        });
        logging.Services.Configure<SimpleConsoleFormatterOptions>(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
        });
        logging.Services.Configure<JsonConsoleFormatterOptions>(options =>
        {
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            options.UseUtcTimestamp = true;
        });
    }
}
