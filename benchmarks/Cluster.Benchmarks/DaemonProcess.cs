using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LoadBalancer.Cluster.Benchmarks;

/// <summary>
/// The Release daemon in a process of its own (so that its memory is its own), its standard error read line by line
/// and timestamped on arrival, and kept in a log file.
/// </summary>
internal sealed partial class DaemonProcess : IDisposable
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private readonly Process _process;
    private readonly StreamWriter _logFile;
    private readonly List<(string Marker, TaskCompletionSource<(long At, string Line)> Seen)> _markers = [];
    private readonly List<(string Marker, long At, string Line)> _hits = [];
    private readonly List<(string Marker, long Since, TaskCompletionSource<(long At, string Line)> Seen)> _waiters = [];
    private readonly long _startedAt;
    private int _lines;
    private long _bytes;

    private DaemonProcess(Process process, StreamWriter logFile, long startedAt, IEnumerable<string> markers)
    {
        _process = process;
        _logFile = logFile;
        _startedAt = startedAt;
        foreach (var marker in markers)
        {
            _markers.Add((marker, new TaskCompletionSource<(long At, string Line)>(TaskCreationOptions.RunContinuationsAsynchronously)));
        }
    }

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    public long StartedAt => _startedAt;

    public int LogLines => Volatile.Read(ref _lines);

    /// <summary>UTF-8 bytes of the lines so far, newlines included.</summary>
    public long LogBytes => Interlocked.Read(ref _bytes);

    /// <summary>Starts <c>dotnet DLL ARGS</c>; <paramref name="markers"/> are log fragments whose first arrival is timed.</summary>
    public static DaemonProcess Start(string dll, IEnumerable<string> arguments, string logPath, IEnumerable<string> markers)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var logFile = new StreamWriter(logPath) { AutoFlush = false };
        var process = new Process { StartInfo = info };
        var startedAt = Stopwatch.GetTimestamp();
        var daemon = new DaemonProcess(process, logFile, startedAt, markers);
        process.ErrorDataReceived += (_, line) => daemon.OnLine(line.Data);
        process.OutputDataReceived += (_, line) => daemon.OnLine(line.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return daemon;
    }

    /// <summary>Milliseconds from process start to the first line holding <paramref name="marker"/>.</summary>
    public async Task<double> WhenLoggedAsync(string marker, TimeSpan limit)
    {
        var seen = _markers.Single(entry => entry.Marker == marker).Seen.Task;
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(seen, exited, Task.Delay(limit)).ConfigureAwait(false);
        if (first != seen)
        {
            throw new InvalidOperationException(first == exited
                ? $"the daemon exited with {_process.ExitCode} before logging '{marker}'"
                : $"the daemon did not log '{marker}' within {limit}");
        }

        return ((await seen.ConfigureAwait(false)).At - _startedAt) * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>
    /// The <see cref="Stopwatch"/> timestamp and text of the first line holding <paramref name="marker"/> that arrived at or after
    /// <paramref name="since"/> (a marker can be logged again, e.g. on a second term as leader).
    /// </summary>
    public async Task<(long At, string Line)> WhenLoggedAfterAsync(string marker, long since, TimeSpan limit)
    {
        if (!_markers.Any(entry => entry.Marker == marker))
        {
            throw new ArgumentException($"'{marker}' is not one of the markers this daemon was started with", nameof(marker));
        }

        var seen = new TaskCompletionSource<(long At, string Line)>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_hits)
        {
            var earlier = _hits.FirstOrDefault(hit => hit.Marker == marker && hit.At >= since);
            if (earlier.Marker is not null)
            {
                return (earlier.At, earlier.Line);
            }

            _waiters.Add((marker, since, seen));
        }

        try
        {
            var exited = _process.WaitForExitAsync();
            var first = await Task.WhenAny(seen.Task, exited, Task.Delay(limit)).ConfigureAwait(false);
            if (first != seen.Task)
            {
                throw new InvalidOperationException(first == exited
                    ? $"the daemon (PID {Pid}) exited with {_process.ExitCode} before logging '{marker}'"
                    : $"the daemon (PID {Pid}) did not log '{marker}' within {limit}");
            }

            return await seen.Task.ConfigureAwait(false);
        }
        finally
        {
            lock (_hits)
            {
                _waiters.RemoveAll(waiter => waiter.Seen == seen);
            }
        }
    }

    /// <summary>Sends <paramref name="signal"/> to this process only (by its PID) and returns the moment it was sent.</summary>
    public long Signal(int signal)
    {
        var sent = Stopwatch.GetTimestamp();
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return sent;
    }

    /// <summary>The moment the process was seen to have exited (reaped), or null if it did not within <paramref name="limit"/>.</summary>
    public async Task<long?> WhenExitedAsync(TimeSpan limit)
    {
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            return Stopwatch.GetTimestamp();
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The first line that held <paramref name="marker"/>, once logged.</summary>
    public string? LineOf(string marker) =>
        _markers.Single(entry => entry.Marker == marker).Seen.Task is { IsCompletedSuccessfully: true } seen ? seen.Result.Line : null;

    /// <summary>Sends SIGTERM (to this process only) and returns the ms until it exited and its exit code, or null on timeout.</summary>
    public async Task<(double Ms, int ExitCode)?> TerminateAsync(TimeSpan limit)
    {
        var sent = Signal(SigTerm);
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
            return null;
        }

        var exitedAt = Stopwatch.GetTimestamp();
        return ((exitedAt - sent) * 1000.0 / Stopwatch.Frequency, _process.ExitCode);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        var at = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _lines);
        Interlocked.Add(ref _bytes, System.Text.Encoding.UTF8.GetByteCount(line) + 1);
        foreach (var (marker, seen) in _markers)
        {
            if (!line.Contains(marker, StringComparison.Ordinal))
            {
                continue;
            }

            seen.TrySetResult((at, line));
            lock (_hits)
            {
                _hits.Add((marker, at, line));
                foreach (var waiter in _waiters.Where(waiter => waiter.Marker == marker && waiter.Since <= at))
                {
                    waiter.Seen.TrySetResult((at, line));
                }
            }
        }

        lock (_logFile)
        {
            _logFile.WriteLine(line);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }

        // Let the last asynchronous reads land before the file closes.
        _process.WaitForExit();
        lock (_logFile)
        {
            _logFile.Dispose();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
