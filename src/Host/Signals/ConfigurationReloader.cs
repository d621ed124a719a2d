using LoadBalancer.Application.Allocation.ReconfigurePools;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Infrastructure.Standalone;
using Mediator;
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
/// Service is looked at again (in standalone the Services file is read again at once), and the keys that need a
/// restart are named.
/// </summary>
public sealed class ConfigurationReloader(StartedConfiguration started, IServiceProvider services, ILogger<ConfigurationReloader> logger)
{
    private LoadedConfiguration _running = started.Loaded;

    public async Task ReloadAsync(CancellationToken cancellationToken) => await ReloadNowAsync(cancellationToken).ConfigureAwait(false);

    public async Task<ReloadResult> ReloadNowAsync(CancellationToken cancellationToken)
    {
        HostLog.Reloading(logger);
        LoadedConfiguration next;
        try
        {
            next = ConfigurationLayers.Load(started.Inputs);
        }
        catch (ConfigurationFileException unreadable)
        {
            return Refuse([$"configuration file {unreadable.Message}"]);
        }

        var settings = DaemonSettings.From(next);
        var problems = new DaemonSettingsValidator(next).Problems(settings);
        if (problems.Count > 0)
        {
            return Refuse(problems);
        }

        var changed = Changes(_running.Root, next.Root);
        var poolsChanged = changed.Any(IsPoolKey);

        // The pools apply while serving where an allocator runs (not in forward or demo-backend).
        var sender = services.GetService<ISender>();
        if (poolsChanged && sender is not null)
        {
            // Applied whole or not at all: refused (an IP in use would be in no pool), the old pools and everything else stay.
            var reconfigured = await sender.Send(new ReconfigurePools(settings.Allocation()), cancellationToken).ConfigureAwait(false);
            if (!reconfigured.Applied)
            {
                return Refuse(reconfigured.Reasons);
            }
        }

        // Standalone: the Services file is read again now, not at the watcher's next poll.
        services.GetService<IServicesFileReader>()?.ReadNow();
        var restartNeeded = changed.Where(key => !IsPoolKey(key) || sender is null).ToList();
        _running = next;
        if (services.GetService<IReconcileQueue>() is { } queue)
        {
            // Refused Services may fit the new pools: they are tried again, not only the others.
            if (poolsChanged)
            {
                queue.RetryAll();
            }
            else
            {
                queue.EnqueueAll();
            }
        }

        HostLog.Reloaded(logger, changed.Count == 0 ? "no key changed" : $"{changed.Count} keys changed ({string.Join(", ", changed)})");
        if (restartNeeded.Count > 0)
        {
            HostLog.RestartNeeded(logger, string.Join(", ", restartNeeded));
        }

        return new ReloadResult(true, [], changed, restartNeeded);
    }

    private ReloadResult Refuse(IReadOnlyList<string> problems)
    {
        HostLog.ReloadRefused(logger, problems.Count, string.Join("; ", problems));
        return new ReloadResult(false, problems, [], []);
    }

    /// <summary>The keys the allocator takes while serving: the default pool, its exclusions and the named pools.</summary>
    private static bool IsPoolKey(string key) =>
        key.Equals(Settings.RestrictedCidr, StringComparison.OrdinalIgnoreCase)
        || key.Equals(Settings.Exclude, StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("pools:", StringComparison.OrdinalIgnoreCase);

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
