using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Host.Configuration;
using LoadBalancer.Host.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Signals;

/// <summary>What a reload did: refused with every reason, or applied, naming the keys that wait for a restart.</summary>
public sealed record ReloadResult(bool Applied, IReadOnlyList<string> Problems, IReadOnlyList<string> Changed, IReadOnlyList<string> RestartNeeded);

/// <summary>
/// SIGHUP: builds the configuration again from the same flags and environment and the file as it is now, validates it,
/// and keeps the running configuration when it is invalid. A valid one is applied where it can be while serving, every
/// Service is looked at again (in standalone the Services file is read again by its watcher), and the keys that need a
/// restart are named.
/// </summary>
public sealed class ConfigurationReloader(StartedConfiguration started, IServiceProvider services, ILogger<ConfigurationReloader> logger)
{
    private LoadedConfiguration _running = started.Loaded;

    public async Task ReloadAsync(CancellationToken cancellationToken) => await ReloadNowAsync(cancellationToken).ConfigureAwait(false);

    public Task<ReloadResult> ReloadNowAsync(CancellationToken cancellationToken)
    {
        HostLog.Reloading(logger);
        LoadedConfiguration next;
        try
        {
            next = ConfigurationLayers.Load(started.Inputs);
        }
        catch (ConfigurationFileException unreadable)
        {
            return Task.FromResult(Refuse([$"configuration file {unreadable.Message}"]));
        }

        var problems = new DaemonSettingsValidator(next).Problems(DaemonSettings.From(next.Root));
        if (problems.Count > 0)
        {
            return Task.FromResult(Refuse(problems));
        }

        var changed = Changes(_running.Root, next.Root);
        // TODO(issue 11, pools): restrictedCidr, exclude and pools apply live through ReconfigurePools once the pools work
        // is merged (refused: the old pools stay); until then every changed key waits for a restart.
        var restartNeeded = changed;
        _running = next;
        services.GetService<IReconcileQueue>()?.EnqueueAll();
        HostLog.Reloaded(logger, changed.Count == 0 ? "no key changed" : $"{changed.Count} keys changed ({string.Join(", ", changed)})");
        if (restartNeeded.Count > 0)
        {
            HostLog.RestartNeeded(logger, string.Join(", ", restartNeeded));
        }

        return Task.FromResult(new ReloadResult(true, [], changed, restartNeeded));
    }

    private ReloadResult Refuse(IReadOnlyList<string> problems)
    {
        HostLog.ReloadRefused(logger, problems.Count, string.Join("; ", problems));
        return new ReloadResult(false, problems, [], []);
    }

    /// <summary>The keys whose effective values differ, in order.</summary>
    private static List<string> Changes(IConfiguration before, IConfiguration after)
    {
        var old = Values(before);
        var now = Values(after);
        return [.. old.Keys.Union(now.Keys, StringComparer.OrdinalIgnoreCase)
            .Where(key => !string.Equals(old.GetValueOrDefault(key), now.GetValueOrDefault(key), StringComparison.Ordinal))
            .Order(StringComparer.OrdinalIgnoreCase)];
    }

    private static Dictionary<string, string?> Values(IConfiguration configuration) =>
        configuration.AsEnumerable().Where(entry => entry.Value is not null)
            .ToDictionary(entry => entry.Key, entry => entry.Value, StringComparer.OrdinalIgnoreCase);
}
