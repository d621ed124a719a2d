using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>The test's output, as <see cref="TestOutputLoggerFactory"/> writes it, plus every line kept for assertions.</summary>
internal sealed class RecordingLoggerFactory(ITestOutputHelper output) : ILoggerFactory
{
    private readonly TestOutputLoggerFactory _output = new(output);
    private readonly CapturingLogger<RecordingLoggerFactory> _lines = new();

    public IReadOnlyList<LogEntry> Entries => _lines.Entries;

    /// <summary>The lines with <paramref name="eventId"/>.</summary>
    public IReadOnlyList<LogEntry> WithId(int eventId) => [.. Entries.Where(entry => entry.EventId.Id == eventId)];

    public ILogger CreateLogger(string categoryName) => new Tee(_output.CreateLogger(categoryName), _lines);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose() => _output.Dispose();

    private sealed class Tee(ILogger first, ILogger second) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => first.IsEnabled(logLevel) || second.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            first.Log(logLevel, eventId, state, exception, formatter);
            second.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
