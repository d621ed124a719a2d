using System.Net;
using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;
using LoadBalancer.Infrastructure.Tests.Support;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

/// <summary>A failed list is one line with its reason; the stack trace goes with it only when Debug is on.</summary>
public sealed class ResourceInformerFailureLogTests
{
    private const int ListFailedId = 5104;
    private static readonly string LongMessage = "services is forbidden: " + new string('y', 5_000);

    [Theory]
    [InlineData(LogLevel.Information, false)]
    [InlineData(LogLevel.Debug, true)]
    public async Task ListAnsweredWithAnError_OneLineWithStatusAndShortenedMessage_StackOnlyAtDebug(LogLevel level, bool withException)
    {
        var logger = new LevelLogger(level);
        var time = new TimerRecordingTimeProvider();
        var source = new ScriptedResourceSource(time);
        using var meters = new TestMeterFactory();
        var informer = new ResourceInformer<V1Service>(source, new InformerOptions { SilenceTimeout = TimeSpan.FromMinutes(10) }, new InformerMetrics(meters), time, logger);
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);
        source.FailList(ApiFailureTextTests.Answered(HttpStatusCode.Forbidden, $$"""{"kind":"Status","message":"{{LongMessage}}","code":403}"""));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!logger.Entries.Any(entry => entry.EventId.Id == ListFailedId) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await running;

        var line = Assert.Single(logger.Entries, entry => entry.EventId.Id == ListFailedId);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.StartsWith("Service: the API server answered the list with an error (HTTP 403 Forbidden: 'services is forbidden: yyy", line.Message, StringComparison.Ordinal);
        Assert.Contains($"…' ({LongMessage.Length} characters)); retrying in", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line.Message);
        Assert.Equal(withException, line.Exception is not null);
    }

    private sealed record Entry(LogLevel Level, EventId EventId, string Message, Exception? Exception);

    /// <summary>A logger at a minimum level, as the console provider is; it keeps the exception each line carried.</summary>
    private sealed class LevelLogger(LogLevel minimum) : ILogger<ResourceInformer<V1Service>>
    {
        private readonly Lock _gate = new();
        private readonly List<Entry> _entries = [];

        public IReadOnlyList<Entry> Entries
        {
            get
            {
                lock (_gate)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            lock (_gate)
            {
                _entries.Add(new Entry(logLevel, eventId, formatter(state, exception), exception));
            }
        }
    }
}
