using System.Collections.Concurrent;
using LoadBalancer.Application.Reconciliation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Application.Tests.Reconciliation;

public sealed class KeyedWorkQueueTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Enqueue_SameKeyManyTimesWhileWaiting_IsProcessedOnce()
    {
        await using var harness = new Harness();
        harness.Queue.Enqueue("a");
        harness.Queue.Enqueue("a");
        harness.Queue.Enqueue("b");
        harness.Queue.Enqueue("a");
        Assert.Equal(2, harness.Queue.Count);

        harness.Start(workers: 1);
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(["a", "b"], harness.Processed);
        Assert.Equal(0, harness.Queue.Count);
    }

    [Fact]
    public async Task Key_IsNeverProcessedTwiceAtOnce_AndAnEnqueueDuringProcessingRunsItAgainAfterwards()
    {
        await using var harness = new Harness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new SemaphoreSlim(0);
        var concurrent = 0;
        var maxConcurrent = 0;
        harness.Process = async (key, ct) =>
        {
            var now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref maxConcurrent, now);
            started.Release();
            await gate.Task.WaitAsync(ct);
            Interlocked.Decrement(ref concurrent);
        };
        harness.Start(workers: 4);

        harness.Queue.Enqueue("a");
        Assert.True(await started.WaitAsync(Deadline), "a was not started");
        harness.Queue.Enqueue("a");
        harness.Queue.Enqueue("a");
        Assert.Equal(0, harness.Queue.Count);
        Assert.False(await started.WaitAsync(TimeSpan.FromMilliseconds(50)), "a was started again while it was being processed");
        gate.SetResult();
        Assert.True(await started.WaitAsync(Deadline), "a was not processed again after the enqueue during processing");
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(["a", "a"], harness.Processed);
        Assert.Equal(1, maxConcurrent);
    }

    [Fact]
    public async Task DifferentKeys_AreProcessedInParallel_UpToTheWorkerCount()
    {
        await using var harness = new Harness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var concurrent = 0;
        var maxConcurrent = 0;
        harness.Process = async (key, ct) =>
        {
            InterlockedMax(ref maxConcurrent, Interlocked.Increment(ref concurrent));
            await gate.Task.WaitAsync(ct);
            Interlocked.Decrement(ref concurrent);
        };
        foreach (var key in new[] { "a", "b", "c", "d", "e" })
        {
            harness.Queue.Enqueue(key);
        }

        harness.Start(workers: 3);
        await Until(() => Volatile.Read(ref concurrent) == 3, "three keys were being processed at once");
        Assert.Equal(2, harness.Queue.Count);
        gate.SetResult();
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(3, maxConcurrent);
        Assert.Equal(["a", "b", "c", "d", "e"], harness.Processed.Order());
    }

    [Fact]
    public async Task Retry_BacksOffDoublingPerFailure_UpToTheCap_AndForgetResetsIt()
    {
        await using var harness = new Harness(new WorkQueueOptions { BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(500) });
        harness.Start(workers: 1);
        var expected = new[] { 100, 200, 400, 500, 500 };

        for (var attempt = 0; attempt < expected.Length; attempt++)
        {
            harness.Queue.Retry("a");
            Assert.Equal(attempt + 1, harness.Queue.Failures("a"));
            harness.Time.Advance(TimeSpan.FromMilliseconds(expected[attempt] - 1));
            Assert.Equal(attempt, harness.Processed.Count);
            harness.Time.Advance(TimeSpan.FromMilliseconds(1));
            await Until(() => harness.Processed.Count == attempt + 1, $"retry {attempt + 1} was processed");
        }

        harness.Queue.Forget("a");
        Assert.Equal(0, harness.Queue.Failures("a"));
        harness.Queue.Retry("a");
        harness.Time.Advance(TimeSpan.FromMilliseconds(100));
        await Until(() => harness.Processed.Count == expected.Length + 1, "the retry after Forget was processed after the base delay");
    }

    [Fact]
    public async Task ThrowingProcess_IsLogged_AndTheKeyRetriedWithBackoff_UntilItSucceedsAndIsForgotten()
    {
        await using var harness = new Harness();
        var calls = 0;
        harness.Process = (key, ct) =>
        {
            if (Interlocked.Increment(ref calls) <= 2)
            {
                throw new InvalidOperationException("apply failed");
            }

            harness.Queue.Forget(key);
            return Task.CompletedTask;
        };
        harness.Start(workers: 2);

        harness.Queue.Enqueue("a");
        await Until(() => Volatile.Read(ref calls) == 1 && harness.Queue.Failures("a") == 1, "the first failure was counted");
        harness.Time.Advance(TimeSpan.FromMilliseconds(100));
        await Until(() => Volatile.Read(ref calls) == 2 && harness.Queue.Failures("a") == 2, "the second failure was counted");
        harness.Time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(2, Volatile.Read(ref calls));
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        await Until(() => Volatile.Read(ref calls) == 3, "the second retry came after 200 ms");
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(0, harness.Queue.Failures("a"));
        Assert.Equal(2, harness.Logger.Entries.Count(e => e.EventId.Id == 5150 && e.Level == LogLevel.Warning));
    }

    [Fact]
    public async Task EnqueueAfter_ProcessesTheKeyOnceTheDelayHasPassed_TheEarliestTimeWins()
    {
        await using var harness = new Harness();
        harness.Start(workers: 1);

        harness.Queue.EnqueueAfter("a", TimeSpan.FromSeconds(10));
        harness.Queue.EnqueueAfter("a", TimeSpan.FromSeconds(3));
        harness.Queue.EnqueueAfter("a", TimeSpan.FromSeconds(20));
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);
        harness.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Empty(harness.Processed);
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        await Until(() => harness.Processed.Count == 1, "a was processed after 3 s");
        harness.Time.Advance(TimeSpan.FromSeconds(30));
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);

        Assert.Equal(["a"], harness.Processed);
    }

    [Fact]
    public async Task WhenIdle_WaitsForQueuedAndRunningKeys()
    {
        await using var harness = new Harness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Process = (key, ct) => gate.Task.WaitAsync(ct);
        harness.Queue.Enqueue("a");

        var idle = harness.Queue.WhenIdleAsync(CancellationToken.None);
        harness.Start(workers: 1);
        await Until(() => harness.Queue.Count == 0, "a was taken");
        Assert.False(idle.IsCompleted);
        gate.SetResult();

        await idle.WaitAsync(Deadline);
    }

    [Fact]
    public async Task Cancellation_WaitsForCallsUnderWay_ThenRunReturns()
    {
        var harness = new Harness();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancellation = false;
        harness.Process = async (key, ct) =>
        {
            started.SetResult();
            await finish.Task;
            sawCancellation = ct.IsCancellationRequested;
        };
        harness.Queue.Enqueue("a");
        harness.Start(workers: 2);
        var running = harness.Running!;
        await started.Task.WaitAsync(Deadline);

        var stopping = harness.DisposeAsync().AsTask();
        await Until(() => harness.Stopping, "cancellation was requested");
        Assert.False(running.IsCompleted, "RunAsync returned while a call was under way");
        finish.SetResult();
        await stopping.WaitAsync(Deadline);

        Assert.True(running.IsCompletedSuccessfully);
        Assert.True(sawCancellation);
        Assert.Equal(0, harness.Queue.Failures("a"));
    }

    [Fact]
    public async Task Cancellation_OfAProcessThatObservesIt_IsNotAFailure()
    {
        var harness = new Harness();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Process = async (key, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
        };
        harness.Queue.Enqueue("a");
        harness.Start(workers: 1);
        await started.Task.WaitAsync(Deadline);

        await harness.DisposeAsync();

        Assert.Equal(0, harness.Queue.Failures("a"));
        Assert.DoesNotContain(harness.Logger.Entries, e => e.EventId.Id == 5150);
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 200)]
    [InlineData(9, 51_200)]
    [InlineData(10, 60_000)]
    [InlineData(int.MaxValue, 60_000)]
    public void Backoff_IsBaseTimesTwoToTheFailures_Capped(int failures, int expectedMs)
    {
        var delay = KeyedWorkQueue<string>.Backoff(failures, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), delay);
    }

    [Fact]
    public async Task LongestRunning_IsTheCallStartedFirst_WithHowLongItHasRun()
    {
        await using var harness = new Harness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new SemaphoreSlim(0);
        harness.Process = async (key, ct) =>
        {
            started.Release();
            await gate.Task.WaitAsync(ct);
        };
        harness.Start(workers: 2);
        Assert.Null(harness.Queue.LongestRunning());

        harness.Queue.Enqueue("a");
        Assert.True(await started.WaitAsync(Deadline), "a was not started");
        harness.Time.Advance(TimeSpan.FromSeconds(7));
        harness.Queue.Enqueue("b");
        Assert.True(await started.WaitAsync(Deadline), "b was not started");
        harness.Time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(("a", TimeSpan.FromSeconds(10)), harness.Queue.LongestRunning());
        gate.SetResult();
        await harness.Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(Deadline);
        Assert.Null(harness.Queue.LongestRunning());
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(5);
        }
    }

    private sealed class Harness(WorkQueueOptions? options = null) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _processed = new();

        public FakeTimeProvider Time { get; } = new();

        public CapturingLogger<KeyedWorkQueueTests> Logger { get; } = new();

        public KeyedWorkQueue<string> Queue => field ??= new KeyedWorkQueue<string>(options ?? new WorkQueueOptions(), Time, Logger);

        /// <summary>What a call does after it has been recorded; nothing by default.</summary>
        public Func<string, CancellationToken, Task> Process { get; set; } = (_, _) => Task.CompletedTask;

        public IReadOnlyList<string> Processed => [.. _processed];

        public bool Stopping => _stop.IsCancellationRequested;

        public Task? Running { get; private set; }

        public void Start(int workers) => Running = Queue.RunAsync(
            (key, ct) =>
            {
                _processed.Enqueue(key);
                return Process(key, ct);
            },
            workers,
            _stop.Token);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                if (Running is not null)
                {
                    await Running.WaitAsync(Deadline);
                }
            }
            finally
            {
                _stop.Dispose();
            }
        }
    }
}
