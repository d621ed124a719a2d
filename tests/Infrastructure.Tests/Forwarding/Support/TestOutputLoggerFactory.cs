using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// Sends the forwarder's log to the test's output, so a failing test shows what the forwarder said. Capped, because a
/// thousand connections must not drown the one line that matters; late lines (after the test ended) are dropped.
/// </summary>
internal sealed class TestOutputLoggerFactory : ILoggerFactory
{
    private readonly ITestOutputHelper _output;
    private readonly LogLevel _minimum;
    private readonly int _maxLines;
    private int _lines;

    public TestOutputLoggerFactory(ITestOutputHelper output, LogLevel minimum = LogLevel.Information, int maxLines = 300)
    {
        _output = output;
        _minimum = minimum;
        _maxLines = maxLines;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        var n = Interlocked.Increment(ref _lines);
        if (n > _maxLines + 1)
        {
            return;
        }

        try
        {
            _output.WriteLine(n > _maxLines ? $"[log] more than {_maxLines} lines; the rest dropped" : line);
        }
        catch (InvalidOperationException)
        {
            // The test has finished; xunit no longer takes output.
        }
    }

    private sealed class Logger(TestOutputLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var error = exception is null ? string.Empty : $" | {exception.GetType().Name}: {exception.Message}";
            factory.Write($"[log {DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category} {eventId.Id}] {formatter(state, exception)}{error}");
        }
    }
}
