using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Threading.Channels;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Standalone.State;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// The Services file as a source of Services: read at start (a file that cannot be used then stops the daemon, naming
/// every problem), then read again whenever it may have changed; each version that can be used replaces the last, and
/// the Services that differ are queued. A version that cannot be used is reported and changes nothing. The record of
/// each Service's IP is the state file, which outlives the process.
/// </summary>
internal sealed partial class StandaloneServiceSource : IServiceSource, IServicesFileReader
{
    private readonly StandaloneOptions _options;
    private readonly IStandaloneState _state;
    private readonly IReconcileQueue _queue;
    private readonly StandaloneConsole _console;
    private readonly TimeProvider _time;
    private readonly ILogger<StandaloneServiceSource> _logger;
    private readonly string _path;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<FileApplied> _applied = Channel.CreateUnbounded<FileApplied>();
    private volatile ImmutableSortedDictionary<ServiceKey, DesiredService> _services = ImmutableSortedDictionary<ServiceKey, DesiredService>.Empty;
    private string? _lastRead;
    private volatile StandaloneFileWatcher? _watcher;

    public StandaloneServiceSource(
        StandaloneOptions options,
        IStandaloneState state,
        IReconcileQueue queue,
        StandaloneConsole console,
        TimeProvider time,
        ILogger<StandaloneServiceSource> logger)
    {
        _options = options;
        _state = state;
        _queue = queue;
        _console = console;
        _time = time;
        _logger = logger;
        _path = Path.GetFullPath(options.File);
    }

    public Task Ready => _ready.Task;

    /// <summary>Each version of the file that was used, after its Services were queued: what the report prints from.</summary>
    public ChannelReader<FileApplied> Applied => _applied.Reader;

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            try
            {
                await _state.LoadAsync(stopping).ConfigureAwait(false);
            }
            catch (IOException failure)
            {
                // Unreadable and not even movable aside: starting empty would overwrite it at the first write.
                await _console.Error.WriteLineAsync($"error: {failure.Message}").ConfigureAwait(false);
                _ready.TrySetException(failure);
                return;
            }

            var first = await ReadAsync(stopping).ConfigureAwait(false);
            if (first is not { Succeeded: true })
            {
                _ready.TrySetException(new InvalidDataException($"{_options.File}: cannot be used; see the errors above"));
                return;
            }

            Use(first, starting: true);
            await ForgetWhatTheFileNoLongerHasAsync(stopping).ConfigureAwait(false);
            _ready.TrySetResult();

            using var watcher = new StandaloneFileWatcher(_path, _options, _time, _logger);
            _watcher = watcher;
            while (!stopping.IsCancellationRequested)
            {
                await watcher.WaitAsync(stopping).ConfigureAwait(false);
                await FollowAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            _ready.TrySetCanceled(stopping);
        }
        catch (Exception failure) when (!_ready.Task.IsCompleted && failure is not OutOfMemoryException)
        {
            // A bug or a broken environment before the first read was used: the daemon must say so, not wait forever.
            _ready.TrySetException(failure);
        }
        finally
        {
            _applied.Writer.TryComplete();
        }
    }

    /// <summary>As if the file system had said the file changed; before the first read is used, that read comes first anyway.</summary>
    public void ReadNow() => _watcher?.Notify();

    public IReadOnlyCollection<ServiceKey> Keys() => [.. _services.Keys];

    public DesiredService? Find(ServiceKey service) => _services.GetValueOrDefault(service);

    public IReadOnlyList<IPAddress> RecordedIps(ServiceKey service) => _state.Current.GetValueOrDefault(service) ?? [];

    public IReadOnlyList<RestoredService> Recorded()
    {
        var recorded = _state.Current;
        return [.. _services.Values
            .Where(service => recorded.ContainsKey(service.Key))
            .SelectMany(service => recorded[service.Key].Select(ip => new RestoredService(service.Spec, ip.ToString())))];
    }

    /// <summary>Reads the file again; a failure that is not the file's (a bug) is logged, and the next change is read anyway.</summary>
    private async Task FollowAsync(CancellationToken stopping)
    {
        try
        {
            if (await ReadAsync(stopping).ConfigureAwait(false) is { Succeeded: true } next)
            {
                Use(next, starting: false);
            }
        }
        catch (Exception failure) when (failure is not OperationCanceledException and not OutOfMemoryException)
        {
            LogReadFailed(_options.File, failure);
        }
    }

    /// <returns>The file as read; null when it is the version read last (nothing to do), or cannot be read.</returns>
    private async Task<StandaloneFile?> ReadAsync(CancellationToken cancellationToken)
    {
        byte[] content;
        try
        {
            content = await File.ReadAllBytesAsync(_path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            var problem = ServiceFileCheck.Unreadable(_options.File, _path, failure);
            if (Changed("unreadable:" + problem))
            {
                await ReportUnusableAsync([problem]).ConfigureAwait(false);
            }

            return null;
        }

        if (!Changed(Convert.ToHexString(SHA256.HashData(content))))
        {
            return null;
        }

        var file = StandaloneServiceFile.Parse(ServiceFileCheck.Decode(content), _options.Reading, _options.File);
        if (!file.Succeeded)
        {
            await ReportUnusableAsync(file.Problems).ConfigureAwait(false);
            return file;
        }

        foreach (var note in file.Notes)
        {
            await _console.Output.WriteLineAsync($"note: {note}").ConfigureAwait(false);
        }

        return file;
    }

    /// <summary>Whether the file differs from the version read last; remembers this one.</summary>
    private bool Changed(string version)
    {
        if (version == _lastRead)
        {
            return false;
        }

        _lastRead = version;
        return true;
    }

    private void Use(StandaloneFile file, bool starting)
    {
        var before = _services;
        var now = file.Services.ToImmutableSortedDictionary(service => service.Key, service => service);
        _services = now;
        if (starting)
        {
            // The term that follows looks at every Service anyway.
            if (now.Count == 0)
            {
                LogNothingToServe(_options.File);
            }

            return;
        }

        var removed = before.Keys.Where(key => !now.ContainsKey(key)).ToList();
        var changed = now.Values.Where(service => !before.TryGetValue(service.Key, out var old) || !old.SameAs(service)).Select(service => service.Key).ToList();
        foreach (var key in removed.Concat(changed))
        {
            _queue.Enqueue(key);
        }

        if (now.Count == 0 && before.Count > 0)
        {
            LogEverythingRemoved(_options.File, before.Count);
        }

        _applied.Writer.TryWrite(new FileApplied(removed));
    }

    /// <summary>
    /// A Service taken out of the file while the daemon was down no longer holds its IP in the state. The removals are
    /// made together, so that the state file groups them into one write.
    /// </summary>
    private async Task ForgetWhatTheFileNoLongerHasAsync(CancellationToken cancellationToken)
    {
        var gone = _state.Current.Keys.Where(key => !_services.ContainsKey(key)).ToList();
        await Task.WhenAll(gone.Select(key => _state.WriteAsync(key, [], cancellationToken).AsTask())).ConfigureAwait(false);
    }

    /// <summary>Each problem in the words of <c>loadbalancer check</c> (<see cref="ServiceFileProblem.ToString"/>).</summary>
    private async Task ReportUnusableAsync(IReadOnlyList<ServiceFileProblem> errors)
    {
        foreach (var problem in errors)
        {
            await _console.Error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
        }

        var count = _services.Count;
        var keeping = count == 0 && !_ready.Task.IsCompleted
            ? "nothing applied"
            : $"keeping the {count} service{(count == 1 ? string.Empty : "s")} of the last good version as they are";
        await _console.Error.WriteLineAsync(
            $"error: {_options.File}: not applied ({errors.Count} problem{(errors.Count == 1 ? string.Empty : "s")}); {keeping}").ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3092, Level = LogLevel.Warning, Message = "{File} holds no Service of type LoadBalancer that is ours: nothing to serve until it does")]
    private partial void LogNothingToServe(string file);

    [LoggerMessage(EventId = 3094, Level = LogLevel.Error, Message = "Reading {File} failed unexpectedly; the Services stay as they are and the next change is read")]
    private partial void LogReadFailed(string file, Exception failure);

    [LoggerMessage(EventId = 3093, Level = LogLevel.Warning, Message = "{File} no longer holds any Service to serve: taking down the {Count} that ran")]
    private partial void LogEverythingRemoved(string file, int count);
}

/// <summary>A version of the file that was used, and the Services it took away.</summary>
internal sealed record FileApplied(IReadOnlyList<ServiceKey> Removed);
