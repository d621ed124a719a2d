using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Interop;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>
/// The standalone state as a JSON file. Every change replaces the whole file atomically (temporary file, fsync,
/// rename, fsync of the directory), and writes are grouped: callers that arrive while a write runs are all served by
/// the next single write, so applying thousands of Services at start costs a handful of fsyncs, not thousands.
/// </summary>
internal sealed partial class StandaloneStateFile : IStandaloneState
{
    public const int FormatVersion = 1;

    private const UnixFileMode FileMode0644 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    // open(2) flags, the same on every Linux architecture (O_DIRECTORY is not, hence left out: the path is the
    // directory this class just wrote into).
    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;
    private const int InvalidArgument = 22;

    private static readonly ImmutableSortedDictionary<ServiceKey, IPAddress> Empty = ImmutableSortedDictionary<ServiceKey, IPAddress>.Empty;

    private static readonly JsonDocumentOptions ReadOptions = new()
    {
        // Operators may edit the file by hand; a comment or a trailing comma is not worth losing every IP for.
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private readonly string _path;
    private readonly string _directory;
    private readonly string _temporaryPath;
    private readonly TimeProvider _time;
    private readonly ILogger<StandaloneStateFile> _logger;
    private readonly Lock _gate = new();

    // Swapped whole under _gate; read without it (Current).
    private ImmutableSortedDictionary<ServiceKey, IPAddress> _current = Empty;
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
        _directory = System.IO.Path.GetDirectoryName(options.Path)!;
        _temporaryPath = options.Path + ".tmp";
        _time = time;
        _logger = logger;
    }

    public string Path => _path;

    public IReadOnlyDictionary<ServiceKey, IPAddress> Current => Volatile.Read(ref _current);

    /// <summary>Attempts to write the file, failed ones included: what the group-commit tests count.</summary>
    internal int FileWrites => Volatile.Read(ref _fileWrites);

    /// <summary>Test seam: runs on the writer just before each file write, after it took its snapshot.</summary>
    internal Action? BeforeFileWrite { get; set; }

    public async ValueTask<IReadOnlyDictionary<ServiceKey, IPAddress>> LoadAsync(CancellationToken cancellationToken)
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
    /// Records <paramref name="ip"/> (null removes the Service) and completes once the file on disk holds it. When
    /// cancelled while waiting, the change stays recorded and is written with the next write.
    /// </summary>
    /// <exception cref="IOException">The file could not be written; the change stays recorded, and the next write
    /// (even of the same value) tries again.</exception>
    public ValueTask WriteAsync(ServiceKey service, IPAddress? ip, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var address = ip is null ? null : Normalize(ip);
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
                : !(_current.TryGetValue(service, out var recorded) && recorded.Equals(address));
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
            ImmutableSortedDictionary<ServiceKey, IPAddress> snapshot;
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
                WriteFile(snapshot);
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

    private void WriteFile(ImmutableSortedDictionary<ServiceKey, IPAddress> snapshot)
    {
        Interlocked.Increment(ref _fileWrites);
        // The dictionary is ordered by ServiceKey: namespace, then name, as the format promises.
        var document = new StandaloneStateDocument(
            FormatVersion,
            snapshot.Select(pair => new StandaloneStateEntry(pair.Key.Namespace, pair.Key.Name, pair.Value.ToString())).ToList());
        try
        {
            Directory.CreateDirectory(_directory);
            var options = new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Share = FileShare.None,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = FileMode0644;
            }

            using (var stream = new FileStream(_temporaryPath, options))
            {
                JsonSerializer.Serialize(stream, document, StandaloneStateJson.Default.StandaloneStateDocument);
                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }

            // rename(2): a reader, or a crash, sees the old file or the new one, never a half-written one.
            File.Move(_temporaryPath, _path, overwrite: true);
            SyncDirectory(_directory);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            RemoveTemporaryFile();
            throw new IOException($"cannot write the state file '{_path}': {failure.Message}", failure);
        }
    }

    /// <summary>A rename is durable only once the directory holding it is synced.</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var descriptor = Libc.open(directory, OpenReadOnly | OpenCloseOnExec);
        if (descriptor < 0)
        {
            throw new IOException($"cannot open the directory '{directory}' to sync it: {Marshal.GetPInvokeErrorMessage(Libc.LastError)}");
        }

        try
        {
            // EINVAL: the file system cannot sync a directory (some FUSE and network ones). The rename stands, as
            // durable as that file system makes it.
            if (Libc.fsync(descriptor) != 0 && Libc.LastError is var error && error != InvalidArgument)
            {
                throw new IOException($"cannot sync the directory '{directory}': {Marshal.GetPInvokeErrorMessage(error)}");
            }
        }
        finally
        {
            Libc.close(descriptor);
        }
    }

    private void RemoveTemporaryFile()
    {
        try
        {
            if (File.Exists(_temporaryPath))
            {
                File.Delete(_temporaryPath);
            }
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            LogTemporaryFileLeft(_temporaryPath, failure.Message);
        }
    }

    private async Task<ImmutableSortedDictionary<ServiceKey, IPAddress>> ReadAsync(CancellationToken cancellationToken)
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

        var (state, reason) = Parse(bytes);
        if (reason is not null)
        {
            return KeepAside(reason);
        }

        LogLoaded(state.Count, _path);
        return state;
    }

    /// <returns>The state, or why the file as a whole is unreadable.</returns>
    private (ImmutableSortedDictionary<ServiceKey, IPAddress> State, string? Reason) Parse(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            return (Empty, "the file is empty");
        }

        // An editor may have saved it with a byte-order mark, which the JSON reader refuses.
        if (bytes.Span.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(bytes, ReadOptions);
        }
        catch (JsonException failure)
        {
            return (Empty, $"not valid JSON: {failure.Message}");
        }

        using (parsed)
        {
            var root = parsed.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (Empty, $"the top level is {Describe(root)}, not an object with \"version\" and \"services\"");
            }

            if (!root.TryGetProperty("version", out var version))
            {
                return (Empty, $"\"version\" is missing; this build reads version {FormatVersion}");
            }

            if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var number) || number != FormatVersion)
            {
                return (Empty, $"version '{Shorten(version.GetRawText())}' is not known; this build reads version {FormatVersion}");
            }

            if (!root.TryGetProperty("services", out var services) || services.ValueKind == JsonValueKind.Null)
            {
                return (Empty, null);
            }

            if (services.ValueKind != JsonValueKind.Array)
            {
                return (Empty, $"\"services\" is {Describe(services)}, not a list");
            }

            return (ReadEntries(services), null);
        }
    }

    private ImmutableSortedDictionary<ServiceKey, IPAddress> ReadEntries(JsonElement services)
    {
        var state = ImmutableSortedDictionary.CreateBuilder<ServiceKey, IPAddress>();
        var firstSeen = new Dictionary<ServiceKey, int>();
        var index = 0;
        foreach (var element in services.EnumerateArray())
        {
            var where = $"services[{index}]";
            var position = index++;
            if (element.ValueKind != JsonValueKind.Object)
            {
                LogEntrySkipped(_path, where, $"'{Shorten(element.GetRawText())}' is not an object with namespace, name and ip");
                continue;
            }

            var problems = new List<string>();
            var ns = ReadText(element, "namespace", problems);
            var name = ReadText(element, "name", problems);
            var ipText = ReadText(element, "ip", problems);
            if (ns is not null && !IsDnsLabel(ns))
            {
                problems.Add($"namespace '{ns}' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit");
            }

            if (name is not null && !IsDnsLabel(name))
            {
                problems.Add($"name '{name}' must be a DNS label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit");
            }

            var address = IPAddress.None;
            if (ipText is not null && !IpAddressText.TryParse(ipText, out address))
            {
                problems.Add($"ip '{ipText}' is not an IP address");
            }

            if (!string.IsNullOrEmpty(ns) && !string.IsNullOrEmpty(name))
            {
                where = $"{where} ({ns}/{name})";
            }

            if (problems.Count == 0)
            {
                var key = new ServiceKey(ns!, name!);
                if (firstSeen.TryGetValue(key, out var first))
                {
                    problems.Add($"{key} is already recorded by services[{first}]");
                }
                else
                {
                    firstSeen.Add(key, position);
                    state.Add(key, address);
                }
            }

            if (problems.Count > 0)
            {
                LogEntrySkipped(_path, where, string.Join("; ", problems));
            }
        }

        return state.ToImmutable();
    }

    private static string? ReadText(JsonElement entry, string field, List<string> problems)
    {
        if (!entry.TryGetProperty(field, out var value))
        {
            problems.Add($"{field} is missing");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{field} '{Shorten(value.GetRawText())}' is not a string");
            return null;
        }

        return value.GetString();
    }

    /// <summary>
    /// The rule ServiceSpecValidator applies to a Service's namespace and name (internal to Application), so every
    /// Service that can be applied can be recorded, and nothing else is read back.
    /// </summary>
    private static bool IsDnsLabel(string value) =>
        value.Length is >= 1 and <= 63
        && (char.IsAsciiLetterLower(value[0]) || char.IsAsciiDigit(value[0]))
        && (char.IsAsciiLetterLower(value[^1]) || char.IsAsciiDigit(value[^1]))
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

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

    private ImmutableSortedDictionary<ServiceKey, IPAddress> KeepAside(string reason)
    {
        var stamp = _time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var keptAs = $"{_path}.unreadable-{stamp}";
        for (var counter = 2; File.Exists(keptAs) || Directory.Exists(keptAs); counter++)
        {
            keptAs = $"{_path}.unreadable-{stamp}-{counter}";
        }

        try
        {
            if (Directory.Exists(_path))
            {
                Directory.Move(_path, keptAs);
            }
            else
            {
                File.Move(_path, keptAs, overwrite: false);
            }
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            // Going on would let the first write replace the file: the IPs in it would be lost for good.
            throw new IOException(
                $"the state file '{_path}' is unreadable ({reason}) and could not be renamed to '{keptAs}': {failure.Message}; move it away or repair it, then start again",
                failure);
        }

        LogKeptAside(_path, reason, keptAs);
        return Empty;
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"the string '{Shorten(element.GetString() ?? string.Empty)}'",
        _ => $"'{Shorten(element.GetRawText())}'",
    };

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
