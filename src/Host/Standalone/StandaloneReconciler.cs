using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.Services.GetAppliedServices;
using LoadBalancer.Application.Services.RemoveService;
using LoadBalancer.Application.Services.RemoveStaleAddresses;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Standalone;
using Mediator;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host.Standalone;

/// <summary>How the standalone mode watches its file.</summary>
public sealed record StandaloneSettings(string File)
{
    /// <summary>The policy of Services that ask for none.</summary>
    public string DefaultPolicy { get; init; } = Application.Forwarding.LoadBalancingPolicyNames.Default;

    /// <summary>How often the file is read even without a change notification (some editors and mounts send none).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Quiet time after a notification before reading, so that a save in several writes is read once.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Keeps the running Services equal to the file: applies all of them at start, then only what changed after each edit.
/// A file that cannot be read or holds any invalid Service is reported and changes nothing.
/// </summary>
internal sealed partial class StandaloneReconciler(
    StandaloneSettings settings,
    IMediator mediator,
    TextWriter output,
    TextWriter error,
    ILogger<StandaloneReconciler> logger)
{
    private readonly Dictionary<ServiceKey, StandaloneService> _applied = [];
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private string? _lastHash;

    public const int FileError = 1;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, then takes every Service down.</summary>
    /// <returns>0 after a clean shutdown; <see cref="FileError"/> when the file is bad at start (nothing is served then).</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(settings.File);
        if (!await ReconcileAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return FileError;
        }

        // Only now that every Service of the file has been applied can an address nobody wants be called stale.
        await mediator.Send(new RemoveStaleAddresses(), cancellationToken).ConfigureAwait(false);

        try
        {
            using var watcher = Watch(path);
            await WatchAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await ShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }

    private FileSystemWatcher? Watch(string path)
    {
        try
        {
            var name = Path.GetFileName(path);
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler changed = (_, change) =>
            {
                if (change.Name == name || (change is RenamedEventArgs renamed && renamed.OldName == name))
                {
                    _changes.Writer.TryWrite(true);
                }
            };
            watcher.Changed += changed;
            watcher.Created += changed;
            watcher.Deleted += changed;
            watcher.Renamed += (sender, renamed) => changed(sender, renamed);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception failure) when (failure is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // inotify limits and exotic file systems: the poll still sees every change, a little later.
            LogWatcherUnavailable(failure.Message);
            return null;
        }
    }

    private async Task WatchAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                poll.CancelAfter(settings.PollInterval);
                try
                {
                    await _changes.Reader.WaitToReadAsync(poll.Token).ConfigureAwait(false);
                    await Task.Delay(settings.Debounce, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The poll interval passed without a notification: read anyway.
                }
            }

            while (_changes.Reader.TryRead(out _))
            {
            }

            await ReconcileAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <returns>False when the file could not be used (read error or invalid content).</returns>
    private async Task<bool> ReconcileAsync(string path, CancellationToken cancellationToken)
    {
        byte[] content;
        try
        {
            content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            var hash = "unreadable:" + failure.Message;
            if (hash != _lastHash)
            {
                _lastHash = hash;
                await ReportBadFileAsync([$"cannot read the file: {failure.Message}"]).ConfigureAwait(false);
            }

            return false;
        }

        var contentHash = Convert.ToHexString(SHA256.HashData(content));
        if (contentHash == _lastHash)
        {
            return true;
        }

        _lastHash = contentHash;
        var file = StandaloneServiceFile.Parse(Encoding.UTF8.GetString(content), settings.DefaultPolicy);
        if (!file.Succeeded)
        {
            await ReportBadFileAsync(file.Errors).ConfigureAwait(false);
            return false;
        }

        foreach (var note in file.Notes)
        {
            await output.WriteLineAsync($"note: {note}").ConfigureAwait(false);
        }

        var changed = await ApplyDifferencesAsync(file.Services, cancellationToken).ConfigureAwait(false);
        if (changed)
        {
            await PrintServicesAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task ReportBadFileAsync(IReadOnlyList<string> errors)
    {
        foreach (var problem in errors)
        {
            await error.WriteLineAsync($"error: {settings.File}: {problem}").ConfigureAwait(false);
        }

        var keeping = _applied.Count == 0
            ? "nothing applied"
            : $"keeping the {_applied.Count} running service{(_applied.Count == 1 ? string.Empty : "s")} as they are";
        await error.WriteLineAsync($"error: {settings.File}: not applied ({errors.Count} problem{(errors.Count == 1 ? string.Empty : "s")}); {keeping}")
            .ConfigureAwait(false);
    }

    /// <summary>Removals first, so that ports a removed Service frees are there for the Services applied after it.</summary>
    private async Task<bool> ApplyDifferencesAsync(IReadOnlyList<StandaloneService> desired, CancellationToken cancellationToken)
    {
        var changed = false;
        var wanted = desired.ToDictionary(service => service.Key);
        foreach (var key in _applied.Keys.Where(key => !wanted.ContainsKey(key)).Order().ToList())
        {
            try
            {
                await mediator.Send(new RemoveService(key.Namespace, key.Name), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await error.WriteLineAsync($"error: removing {key}: {failure.GetType().Name}: {failure.Message}").ConfigureAwait(false);
            }

            // Forgotten either way: the registry no longer holds it, and its allocation is released.
            _applied.Remove(key);
            await output.WriteLineAsync($"removed {key}").ConfigureAwait(false);
            changed = true;
        }

        foreach (var service in desired.OrderBy(service => service.Key))
        {
            if (_applied.TryGetValue(service.Key, out var running) && running.SameAs(service))
            {
                continue;
            }

            try
            {
                var response = await mediator.Send(service.ToCommand(), cancellationToken).ConfigureAwait(false);
                if (response.Succeeded)
                {
                    _applied[service.Key] = service;
                    changed = true;
                }
                else
                {
                    await error.WriteLineAsync($"error: {service.Key}: {response.Failure}{Hint(response.Failure)}").ConfigureAwait(false);
                }
            }
            catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The handler has undone its part; one Service that cannot run does not stop the others.
                await error.WriteLineAsync($"error: {service.Key}: {failure.GetType().Name}: {failure.Message}").ConfigureAwait(false);
            }
        }

        return changed;
    }

    /// <summary>The one failure a newcomer meets first: ports below 1024 need privileges.</summary>
    private static string Hint(string? failure) =>
        failure is not null && failure.Contains("ermission", StringComparison.Ordinal)
            ? " (ports below 1024 need root, CAP_NET_BIND_SERVICE or `sysctl net.ipv4.ip_unprivileged_port_start=80`)"
            : string.Empty;

    /// <summary>One line per listener, the way a newcomer reads it: where to send a request and where it goes.</summary>
    private async Task PrintServicesAsync(CancellationToken cancellationToken)
    {
        var running = await mediator.Send(new GetAppliedServices(), cancellationToken).ConfigureAwait(false);
        foreach (var line in Describe(running))
        {
            await output.WriteLineAsync(line).ConfigureAwait(false);
        }
    }

    internal static IEnumerable<string> Describe(IReadOnlyList<AppliedService> services)
    {
        foreach (var service in services)
        {
            if (service.Listeners.Count == 0)
            {
                yield return $"{service.Key} → {service.Ip} (no TCP ports)";
            }

            foreach (var listener in service.Listeners)
            {
                var backends = listener.Backends.Count == 0 ? "no backends" : string.Join(", ", listener.Backends);
                yield return $"{service.Key} → {listener.Binding} → {backends}";
            }
        }
    }

    /// <summary>Takes every Service down: listeners drain, addresses are released. Runs after cancellation, so without a token.</summary>
    private async Task ShutdownAsync()
    {
        // All at once: each removal holds the apply lock only to detach its listeners, so the drains overlap.
        var outcomes = await Task.WhenAll(_applied.Keys.Order().Select(async key =>
        {
            try
            {
                await mediator.Send(new RemoveService(key.Namespace, key.Name), CancellationToken.None).ConfigureAwait(false);
                return (Key: key, Failure: (string?)null);
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                return (Key: key, Failure: failure.Message);
            }
        })).ConfigureAwait(false);

        foreach (var (key, failure) in outcomes)
        {
            if (failure is null)
            {
                _applied.Remove(key);
            }
            else
            {
                await error.WriteLineAsync($"error: stopping {key}: {failure}").ConfigureAwait(false);
            }
        }

        LogStopped(_applied.Count);
    }

    [LoggerMessage(EventId = 3090, Level = LogLevel.Warning, Message = "Not watching the file for changes ({Reason}); polling only")]
    private partial void LogWatcherUnavailable(string reason);

    [LoggerMessage(EventId = 3091, Level = LogLevel.Information, Message = "Standalone mode stopped; {Left} services could not be taken down")]
    private partial void LogStopped(int left);
}
