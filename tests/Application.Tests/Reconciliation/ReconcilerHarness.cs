using System.Net;
using LoadBalancer.Application.Allocation;
using LoadBalancer.Application.Allocation.AllocateLoadBalancerIp;
using LoadBalancer.Application.Reconciliation;
using LoadBalancer.Application.Services;
using LoadBalancer.Application.State;
using LoadBalancer.Application.Tests.Services;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Domain.Services;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Application.Tests.Reconciliation;

/// <summary>
/// The reconciler over the real handlers (<see cref="ServiceFakes"/>: a real allocator, fake link device and forwarder),
/// an in-memory source, recording sinks, and a fake clock: retries and backoffs happen when the test moves time on.
/// </summary>
internal sealed class ReconcilerHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _term = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _running;

    public ReconcilerHarness(ReconcilerOptions? options = null)
    {
        Status = new RecordingStatusWriter(Source);
        Options = options ?? new ReconcilerOptions { RetryDelay = TimeSpan.FromMilliseconds(200), MaxRetryDelay = TimeSpan.FromSeconds(5), ShutdownDrain = TimeSpan.FromSeconds(7), HandOverDrain = TimeSpan.Zero };
        State = new ReconcilerState(Fakes.Applied);
        RecentEvents = new RecentEvents(Time);
        Recorded = new RecordedAllocations(Source, Fakes.Sender, Queue, Microsoft.Extensions.Options.Options.Create(Options), Time, RecordedLog);
        Reconciler = new ServiceReconciler(Source, Fakes.Sender, Fakes.Applied, Status, Events, RecentEvents, new ReconcileMetrics(Fakes.Meters, State, Fakes.Applied), Queue, State,
            Recorded, Microsoft.Extensions.Options.Options.Create(Options), Time, Log);
    }

    public ServiceFakes Fakes { get; } = new();

    public FakeServiceSource Source { get; } = new();

    public RecordingStatusWriter Status { get; }

    public RecordingEventRecorder Events { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    public RecentEvents RecentEvents { get; }

    public ReconcileQueue Queue { get; } = new();

    public ReconcilerOptions Options { get; }

    public CapturingLogger<ServiceReconciler> Log { get; } = new();

    public ServiceReconciler Reconciler { get; }

    public RecordedAllocations Recorded { get; }

    public CapturingLogger<RecordedAllocations> RecordedLog { get; } = new();

    /// <summary>What the running term knows, as the state query reads it.</summary>
    public ReconcilerState State { get; }

    public static DesiredService Service(string name, string? ip = null, int port = 80, params string[] backends) =>
        new(ServiceFakes.Spec(name, ip, port), [new PortBackends(ServicePort.Tcp(port), [.. backends.Select(ServiceFakes.Endpoint)])]);

    /// <summary>Starts a term and waits until it has reconciled everything once.</summary>
    public async Task StartAsync()
    {
        _running = Reconciler.RunTermAsync(_term.Token, _stopping.Token);
        var first = await Task.WhenAny(Reconciler.Ready, _running).WaitAsync(TimeSpan.FromSeconds(5));
        await first;
        ThrowOnUnexpectedFailures();
    }

    /// <summary>Waits until everything queued has been reconciled (retries waiting for their time do not count).</summary>
    public async Task IdleAsync()
    {
        await Queue.WhenIdleAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        ThrowOnUnexpectedFailures();
    }

    /// <summary>A reconcile that threw (the queue logs and retries it) is a bug in what the test exercises, not an outcome.</summary>
    private void ThrowOnUnexpectedFailures()
    {
        var thrown = Log.Entries.Where(entry => entry.EventId.Id == 5150).ToList();
        if (thrown.Count > 0)
        {
            throw new InvalidOperationException("A reconcile threw: " + string.Join(" | ", thrown.Select(entry => entry.Message)));
        }
    }

    public async Task ChangeAsync(Action change, params ServiceKey[] keys)
    {
        change();
        foreach (var key in keys)
        {
            Queue.Enqueue(key);
        }

        await IdleAsync();
    }

    /// <summary>Moves the clock on, then waits for what became due.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        await IdleAsync();
    }

    /// <summary>Ends the term: as a shutdown (<paramref name="stopping"/>) or a lost Lease.</summary>
    public async Task EndTermAsync(bool stopping = true)
    {
        if (stopping)
        {
            await _stopping.CancelAsync();
        }

        await _term.CancelAsync();
        await _running!.WaitAsync(TimeSpan.FromSeconds(5));
    }

    public int AllocationsSentFor(string name) =>
        Fakes.Sender.SentOf<AllocateLoadBalancerIp>().Count(command => command.Service.Name == name);

    public IPAddress? RecordOf(string name) => Source.RecordedIps(new ServiceKey("default", name)) is [var primary, ..] ? primary : null;

    public static ServiceKey Key(string name) => new("default", name);

    public async ValueTask DisposeAsync()
    {
        if (_running is { IsCompleted: false })
        {
            await EndTermAsync();
        }

        _term.Dispose();
        _stopping.Dispose();
        Recorded.Dispose();
        Fakes.Dispose();
    }
}
