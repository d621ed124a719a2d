using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>
/// The standalone state as a JSON file. Every change replaces the whole file atomically (temporary file, fsync,
/// rename, fsync of the directory), and writes are grouped: callers that arrive while a write runs are all served by
/// the next single write, so applying thousands of Services at start costs a handful of fsyncs, not thousands.
/// </summary>
internal sealed partial class StandaloneStateFile : IStandaloneState
{
    public const int FormatVersion = StandaloneStateFormat.Version;

    private static readonly ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> Empty = ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>.Empty;

    private readonly string _path;
    private readonly DurableFile _file;
    private readonly TimeProvider _time;
    private readonly ILogger<StandaloneStateFile> _logger;
    private readonly Lock _gate = new();

    // Swapped whole under _gate; read without it (Current).
    private ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> _current = Empty;
    private int _loadCalls;

    // Guarded by _gate. _changes counts changes made in memory, _durable is the count the file on disk holds.
    private bool _loaded;
    private long _changes;
    private long _durable;
    private TaskCompletionSource? _next;
    private TaskCompletionSource? _running;
    private long _runningHolds;
    private bool _writerActive;
    private bool _lastWriteFailed;

    private int _fileWrites;

    public StandaloneStateFile(StandaloneStateOptions options, TimeProvider time, ILogger<StandaloneStateFile> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        if (string.IsNullOrEmpty(options.Path) || !System.IO.Path.IsPathFullyQualified(options.Path)
            || string.IsNullOrEmpty(System.IO.Path.GetFileName(options.Path)))
        {
            throw new ArgumentException($"state file path '{options.Path}' must be the absolute path of a file", nameof(options));
        }

        _path = options.Path;
        _file = new DurableFile(options.Path);
        _time = time;
        _logger = logger;
    }

    public string Path => _path;

    public IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>> Current => Volatile.Read(ref _current);

    /// <summary>Attempts to write the file, failed ones included: what the group-commit tests count.</summary>
    internal int FileWrites => Volatile.Read(ref _fileWrites);

    /// <summary>Test seam: runs on the writer just before each file write, after it took its snapshot.</summary>
    internal Action? BeforeFileWrite { get; set; }

    public async ValueTask<IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>>> LoadAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _loadCalls, 1) != 0)
        {
            throw new InvalidOperationException($"the state file '{_path}' is loaded once, at start");
        }

        var loaded = await ReadAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _current = loaded;
            _loaded = true;
        }

        return loaded;
    }

    /// <summary>
    /// Records one <paramref name="ip"/> (null removes the Service) and completes once the file on disk holds it. When
    /// cancelled while waiting, the change stays recorded and is written with the next write.
    /// </summary>
    /// <exception cref="IOException">The file could not be written; the change stays recorded, and the next write
    /// (even of the same value) tries again.</exception>
    public ValueTask WriteAsync(ServiceKey service, IPAddress? ip, CancellationToken cancellationToken) =>
        WriteAsync(service, ip is null ? [] : [ip], cancellationToken);

    /// <summary>
    /// Records <paramref name="ips"/> (primary first; empty removes the Service) and completes once the file on disk
    /// holds them. When cancelled while waiting, the change stays recorded and is written with the next write.
    /// </summary>
    /// <exception cref="IOException">The file could not be written; the change stays recorded, and the next write
    /// (even of the same value) tries again.</exception>
    public ValueTask WriteAsync(ServiceKey service, IReadOnlyList<IPAddress> ips, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ips);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<IPAddress>? address = ips.Count == 0 ? null : [.. ips.Select(Normalize)];
        Task durable;
        var startWriter = false;
        lock (_gate)
        {
            if (!_loaded)
            {
                // Writing first would replace the file before its IPs were read: exactly the loss this file prevents.
                throw new InvalidOperationException($"the state file '{_path}' is written before LoadAsync read it");
            }

            var changed = address is null
                ? _current.ContainsKey(service)
                : !(_current.TryGetValue(service, out var recorded) && recorded.SequenceEqual(address));
            if (changed)
            {
                _current = address is null ? _current.Remove(service) : _current.SetItem(service, address);
                _changes++;
            }

            if (_durable == _changes)
            {
                return ValueTask.CompletedTask;
            }

            if (_running is not null && _runningHolds == _changes)
            {
                // Unchanged, and the write under way already holds it.
                durable = _running.Task;
            }
            else
            {
                _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                durable = _next.Task;
                if (!_writerActive)
                {
                    _writerActive = true;
                    startWriter = true;
                }
            }
        }

        if (startWriter)
        {
            // Off the caller's thread: the writer keeps going while callers queue up, and no caller waits for
            // writes made for others. Not the caller's token: the writer serves every caller queued behind it.
            _ = Task.Run(WriteUntilNoneWaits, CancellationToken.None);
        }

        return new ValueTask(durable.WaitAsync(cancellationToken));
    }

    private void WriteUntilNoneWaits()
    {
        while (true)
        {
            TaskCompletionSource batch;
            ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> snapshot;
            long holds;
            lock (_gate)
            {
                if (_next is null)
                {
                    _writerActive = false;
                    return;
                }

                batch = _next;
                _next = null;
                _running = batch;
                snapshot = _current;
                holds = _changes;
                _runningHolds = holds;
            }

            Exception? failure = null;
            try
            {
                BeforeFileWrite?.Invoke();
                Interlocked.Increment(ref _fileWrites);
                _file.Replace(stream => StandaloneStateFormat.Write(stream, snapshot), LogTemporaryFileLeft);
            }
            catch (Exception exception)
            {
                // Whatever went wrong belongs to the callers waiting for this write, not to a thread-pool thread.
                failure = exception;
            }

            bool recovered;
            lock (_gate)
            {
                _running = null;
                recovered = failure is null && _lastWriteFailed;
                _lastWriteFailed = failure is not null;
                if (failure is null)
                {
                    _durable = holds;
                }
            }

            if (failure is null)
            {
                if (recovered)
                {
                    LogWrittenAgain(_path);
                }

                LogWritten(snapshot.Count, _path);
                batch.SetResult();
            }
            else
            {
                LogWriteFailed(_path, failure.Message);
                batch.SetException(failure);
                // Observed here: a caller that stopped waiting (cancelled) must not leave an unobserved exception
                // behind; those still waiting get it all the same.
                _ = batch.Task.Exception;
            }
        }
    }

    private async Task<ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>>> ReadAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(_path))
        {
            return KeepAside("it is a directory, not a file");
        }

        if (!File.Exists(_path))
        {
            LogNoStateFile(_path);
            return Empty;
        }

        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(_path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is FileNotFoundException or DirectoryNotFoundException)
        {
            LogNoStateFile(_path);
            return Empty;
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            return KeepAside($"cannot read it: {failure.Message}");
        }

        var (state, reason) = StandaloneStateFormat.Parse(bytes, (where, problem) => LogEntrySkipped(_path, where, problem));
        if (reason is not null)
        {
            return KeepAside(reason);
        }

        LogLoaded(state.Count, _path);
        return state;
    }

    /// <summary>
    /// The file must read back what was written, and <see cref="IpAddressText"/> refuses a "%scope" and turns an
    /// IPv4-mapped address into IPv4: both are normalised before they are recorded.
    /// </summary>
    private static IPAddress Normalize(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6)
        {
            return ip.MapToIPv4();
        }

        return ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.ScopeId != 0 ? new IPAddress(ip.GetAddressBytes()) : ip;
    }

    private ImmutableSortedDictionary<ServiceKey, IReadOnlyList<IPAddress>> KeepAside(string reason)
    {
        string keptAs;
        try
        {
            keptAs = _file.MoveAside(_time.GetUtcNow());
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            // Going on would let the first write replace the file: the IPs in it would be lost for good.
            throw new IOException(
                $"the state file '{_path}' is unreadable ({reason}) and could not be renamed aside: {failure.Message}; move it away or repair it, then start again",
                failure);
        }

        LogKeptAside(_path, reason, keptAs);
        return Empty;
    }
}
