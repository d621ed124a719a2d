using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Support;

/// <summary>
/// Keeps every line logged through it and lets a test wait until the lines show that background work got somewhere,
/// instead of sleeping and hoping.
/// </summary>
internal sealed class ObservedLogger<T> : ILogger<T>
{
    private readonly Lock _gate = new();
    private readonly List<LogEntry> _entries = [];
    private readonly List<(Func<IReadOnlyList<LogEntry>, bool> Condition, TaskCompletionSource Reached)> _waiters = [];

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Completes once <paramref name="condition"/> holds for the lines logged so far; fails after <paramref name="timeout"/>.</summary>
    public Task WaitForAsync(Func<IReadOnlyList<LogEntry>, bool> condition, TimeSpan timeout)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (condition(_entries))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((condition, reached));
        }

        return reached.Task.WaitAsync(timeout);
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var entry = new LogEntry(logLevel, eventId, formatter(state, exception));
        List<TaskCompletionSource> reached;
        lock (_gate)
        {
            _entries.Add(entry);
            var met = _waiters.Where(waiter => waiter.Condition(_entries)).ToList();
            _waiters.RemoveAll(met.Contains);
            reached = [.. met.Select(waiter => waiter.Reached)];
        }

        foreach (var waiter in reached)
        {
            waiter.TrySetResult();
        }
    }
}
