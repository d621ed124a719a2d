using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Tells when the Services file may have changed: soon after the file system says so (once a save in several writes
/// has settled), and every poll interval anyway, since some editors and mounts send no notification.
/// </summary>
internal sealed partial class StandaloneFileWatcher : IDisposable
{
    private readonly StandaloneOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _notified = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly FileSystemWatcher? _watcher;

    public StandaloneFileWatcher(string path, StandaloneOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _watcher = Watch(path);
    }

    /// <summary>Whether change notifications arrive (else only the poll finds changes).</summary>
    public bool Notifies => _watcher is not null;

    /// <summary>Raises a notification as the file system would; for watchers that miss one, and for tests.</summary>
    public void Notify() => _notified.Writer.TryWrite(true);

    /// <summary>Completes after a notification and the debounce, or after the poll interval without one.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        using (var poll = new CancellationTokenSource(_options.PollInterval, _time))
        using (var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, poll.Token))
        {
            try
            {
                await _notified.Reader.WaitToReadAsync(either.Token).ConfigureAwait(false);
                await Task.Delay(_options.Debounce, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The poll interval passed without a notification: read anyway.
            }
        }

        while (_notified.Reader.TryRead(out _))
        {
        }
    }

    public void Dispose() => _watcher?.Dispose();

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
                    Notify();
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

    [LoggerMessage(EventId = 3090, Level = LogLevel.Warning, Message = "Not watching the file for changes ({Reason}); polling only")]
    private partial void LogWatcherUnavailable(string reason);
}
