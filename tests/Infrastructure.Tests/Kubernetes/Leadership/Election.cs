using System.Diagnostics;
using LoadBalancer.Infrastructure.Kubernetes.Leadership;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Leadership;

/// <summary>
/// Candidates on one in-memory Lease and one virtual clock. Time moves only when a test runs it, and then from one
/// due timer to the next, each time after every running candidate has reached its next wait.
/// </summary>
internal sealed class Election : IAsyncDisposable
{
    /// <summary>Real time a candidate may take to reach its next wait; only a hang or a busy machine comes near it.</summary>
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(5);

    private readonly List<Candidate> _candidates = [];

    public static LeaderElectionOptions Options { get; } = new()
    {
        Namespace = "kube-system",
        Name = "llb",
        LeaseDuration = TimeSpan.FromSeconds(2),
        RenewDeadline = TimeSpan.FromMilliseconds(1500),
        RetryPeriod = TimeSpan.FromMilliseconds(250),
    };

    public VirtualClock Clock { get; } = new();

    public InMemoryLeaseApi Api { get; }

    public Election() => Api = new InMemoryLeaseApi(Clock);

    public DateTimeOffset Now => Clock.GetUtcNow();

    public Candidate Start(string identity, Func<CancellationToken, Task>? lead = null, CapturingLogger<LeaseElector>? logger = null)
    {
        var candidate = new Candidate(this, identity, lead, logger);
        lock (_candidates)
        {
            _candidates.Add(candidate);
        }

        return candidate;
    }

    /// <summary>Waits (in real time, briefly) until every running candidate waits for a timer or a hanging call.</summary>
    public async Task SettleAsync()
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            int running;
            lock (_candidates)
            {
                running = _candidates.Count(candidate => !candidate.Run.IsCompleted);
            }

            if (Clock.ArmedWaits + Api.Pending >= running)
            {
                return;
            }

            if (waited.Elapsed > SettleLimit)
            {
                throw new TimeoutException($"{running} candidates running, but only {Clock.ArmedWaits} timers and {Api.Pending} calls waiting after {waited.Elapsed}");
            }

            await Task.Delay(1);
        }
    }

    /// <summary>Runs virtual time until <paramref name="condition"/> holds, and returns how much of it passed.</summary>
    public async Task<TimeSpan> RunUntilAsync(Func<bool> condition, TimeSpan within, Action? invariant = null)
    {
        var started = Now;
        var limit = started + within;
        while (true)
        {
            await SettleAsync();
            invariant?.Invoke();
            if (condition())
            {
                return Now - started;
            }

            var next = Clock.NextDue;
            if (next is null || next > limit)
            {
                throw new TimeoutException($"Not within {within} of virtual time (now {Now - started} in; next timer {(next is null ? "none" : (next - started).ToString())})");
            }

            Advance(next.Value > Now ? next.Value - Now : TimeSpan.Zero);
        }
    }

    /// <summary>Runs virtual time for <paramref name="duration"/>, checking <paramref name="invariant"/> after every step.</summary>
    public async Task RunForAsync(TimeSpan duration, Action? invariant = null)
    {
        var limit = Now + duration;
        while (true)
        {
            await SettleAsync();
            invariant?.Invoke();
            var next = Clock.NextDue;
            if (next is null || next > limit)
            {
                Advance(limit - Now);
                await SettleAsync();
                invariant?.Invoke();
                return;
            }

            Advance(next.Value > Now ? next.Value - Now : TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> outside the test framework's synchronization context, so that the continuations it
    /// completes (a timer that fires, a cancellation) run inline where they can: the candidates then usually reach their
    /// next wait before it returns, and settling costs no polling.
    /// </summary>
    internal static void Inline(Action action)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            action();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private void Advance(TimeSpan by) => Inline(() => Clock.Advance(by));

    public async ValueTask DisposeAsync()
    {
        List<Candidate> candidates;
        lock (_candidates)
        {
            candidates = [.. _candidates];
        }

        foreach (var candidate in candidates)
        {
            // A release through a broken client would wait for virtual time that no longer moves.
            candidate.Client.Failing = null;
            candidate.Client.Hanging = false;
            await candidate.StopAsync();
            candidate.Dispose();
        }
    }
}

/// <summary>An elector running in the background; its lead waits for the leadership token and records the stand-down.</summary>
internal sealed class Candidate : IDisposable
{
    private readonly Election _election;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<CancellationToken, Task>? _lead;
    private int _terms;
    private int _leading;

    public Candidate(Election election, string identity, Func<CancellationToken, Task>? lead, CapturingLogger<LeaseElector>? logger)
    {
        _election = election;
        _lead = lead;
        Logger = logger ?? new CapturingLogger<LeaseElector>();
        Client = election.Api.ClientFor(identity);
        Elector = new LeaseElector(Client, Election.Options with { Identity = identity }, election.Clock, Logger);
        Run = Task.Run(() => Elector.RunAsync(LeadAsync, _stop.Token));
    }

    public LeaseElector Elector { get; }

    public ScriptedLeaseClient Client { get; }

    public CapturingLogger<LeaseElector> Logger { get; }

    public Task Run { get; }

    /// <summary>How many terms lead has started.</summary>
    public int Terms => Volatile.Read(ref _terms);

    /// <summary>True while lead runs (from its start until it has stood down).</summary>
    public bool Leading => Volatile.Read(ref _leading) == 1;

    /// <summary>The virtual time and the number of calls to the API when lead last stood down.</summary>
    public (DateTimeOffset At, int Calls)? StoodDown { get; private set; }

    /// <summary>Cancels the elector; does not wait.</summary>
    public void Cancel() => Election.Inline(_stop.Cancel);

    /// <summary>Cancels the elector and waits (in real time, bounded) for RunAsync to return.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    public void Dispose() => _stop.Dispose();

    private async Task LeadAsync(CancellationToken leadership)
    {
        Interlocked.Increment(ref _terms);
        Volatile.Write(ref _leading, 1);
        try
        {
            if (_lead is not null)
            {
                await _lead(leadership);
            }
            else
            {
                await Task.Delay(Timeout.Infinite, leadership);
            }
        }
        finally
        {
            StoodDown = (_election.Now, _election.Api.Calls.Count);
            Volatile.Write(ref _leading, 0);
        }
    }
}
