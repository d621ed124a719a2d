using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Shared;

/// <summary>One formatted log line.</summary>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message);

/// <summary>
/// Keeps every line logged through it, so tests can assert level, event id and text. Compiled into each test project
/// that needs it (tests/Shared is linked, not referenced), so it can stay internal.
/// </summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly List<LogEntry> _entries = [];

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        lock (_entries)
        {
            _entries.Add(new LogEntry(logLevel, eventId, formatter(state, exception)));
        }
    }
}
