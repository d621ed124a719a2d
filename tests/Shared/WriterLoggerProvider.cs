using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Shared;

/// <summary>
/// Log lines of a daemon run in-process, to a writer the test reads, one line each: <c>warn: Category: message</c>.
/// Given to the host through its logging seam (HostSeams.Logging) in place of the console. Linked, not referenced.
/// </summary>
internal sealed class WriterLoggerProvider(TextWriter writer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new WriterLogger(writer, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
    }

    private sealed class WriterLogger(TextWriter writer, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            var line = $"{level}: {category}: {formatter(state, exception)}";
            writer.WriteLine(exception is null ? line : $"{line}{Environment.NewLine}{exception}");
        }
    }
}
