using Microsoft.Extensions.Logging;

namespace LoadBalancer.Health.Benchmarks;

/// <summary>Counts log lines (and the bytes of their messages) instead of writing them: the log volume is a result.</summary>
internal sealed class CountingLoggerProvider : ILoggerProvider
{
    private long _lines;
    private long _warnings;
    private long _bytes;

    public LogCounts Snapshot() => new(Interlocked.Read(ref _lines), Interlocked.Read(ref _warnings), Interlocked.Read(ref _bytes));

    public ILogger CreateLogger(string categoryName) => new Counter(this);

    public void Dispose()
    {
    }

    private sealed class Counter(CountingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Interlocked.Increment(ref owner._lines);
            if (logLevel >= LogLevel.Warning)
            {
                Interlocked.Increment(ref owner._warnings);
            }

            Interlocked.Add(ref owner._bytes, formatter(state, exception).Length + 1);
        }
    }
}

internal readonly record struct LogCounts(long Lines, long Warnings, long Bytes)
{
    public static LogCounts operator -(LogCounts left, LogCounts right) =>
        new(left.Lines - right.Lines, left.Warnings - right.Warnings, left.Bytes - right.Bytes);
}
