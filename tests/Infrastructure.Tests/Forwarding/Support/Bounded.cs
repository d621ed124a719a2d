namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>Every wait in the forwarder tests goes through here, so none can hang and each says what it waited for.</summary>
internal static class Bounded
{
    /// <summary>Extra time for a body to notice its token before the wait gives up on it.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    public static async Task WithinAsync(Task task, TimeSpan limit, string what)
    {
        try
        {
            await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out after {limit.TotalMilliseconds:F0} ms waiting for {what}");
        }
    }

    public static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan limit, string what)
    {
        try
        {
            return await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out after {limit.TotalMilliseconds:F0} ms waiting for {what}");
            throw;
        }
    }

    /// <summary>Runs <paramref name="body"/> with a token that cancels at the limit; either way out of time fails clearly.</summary>
    public static async Task WithinAsync(Func<CancellationToken, Task> body, TimeSpan limit, string what)
    {
        using var deadline = Deadline(limit);
        try
        {
            await body(deadline.Token).WaitAsync(limit + Grace);
        }
        catch (Exception e) when (e is TimeoutException || (e is OperationCanceledException && deadline.IsCancellationRequested))
        {
            Assert.Fail($"timed out after {limit.TotalMilliseconds:F0} ms waiting for {what}");
        }
    }

    public static async Task<T> WithinAsync<T>(Func<CancellationToken, Task<T>> body, TimeSpan limit, string what)
    {
        using var deadline = Deadline(limit);
        try
        {
            return await body(deadline.Token).WaitAsync(limit + Grace);
        }
        catch (Exception e) when (e is TimeoutException || (e is OperationCanceledException && deadline.IsCancellationRequested))
        {
            Assert.Fail($"timed out after {limit.TotalMilliseconds:F0} ms waiting for {what}");
            throw;
        }
    }

    public static Task WithinAsync(ValueTask task, TimeSpan limit, string what) => WithinAsync(task.AsTask(), limit, what);

    public static Task<T> WithinAsync<T>(ValueTask<T> task, TimeSpan limit, string what) => WithinAsync(task.AsTask(), limit, what);

    /// <summary>Polls <paramref name="condition"/> until it holds; on timeout fails with <paramref name="state"/>'s view of what was seen.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan limit, string what, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                var seen = state is null ? string.Empty : $"; last seen: {state()}";
                Assert.Fail($"timed out after {limit.TotalMilliseconds:F0} ms waiting until {what}{seen}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>A token that cancels after <paramref name="limit"/>; the guard against a socket call that never returns.</summary>
    public static CancellationTokenSource Deadline(TimeSpan limit) => new(limit);
}
