using LoadBalancer.Application.Allocation.RestoreAllocations;
using LoadBalancer.Application.Reconciliation;
using static LoadBalancer.Application.Tests.Reconciliation.ReconcilerHarness;
using static LoadBalancer.Application.Tests.TestData;

namespace LoadBalancer.Application.Tests.Reconciliation;

/// <summary>Standing by: the recorded IPs read again after changes between terms, so that a term starts with them restored.</summary>
public sealed class RecordedAllocationsTests : IAsyncDisposable
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    private readonly ReconcilerHarness _harness = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _standingBy;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_standingBy is not null)
        {
            await _standingBy.WaitAsync(TimeSpan.FromSeconds(5));
        }

        _stopping.Dispose();
        await _harness.DisposeAsync();
    }

    [Fact]
    public async Task StandingBy_ReadsTheRecordsAfterAChange_AndATermThenStartsWithoutReadingThemAgain()
    {
        PutRecorded("web", "192.168.0.230");
        StandBy();
        _harness.Queue.Enqueue(Key("web"));

        await ReadingsAsync(1);
        Assert.Equal([Ip("192.168.0.230")], _harness.Fakes.Allocations.Leases().Select(lease => lease.Ip));

        await _harness.StartAsync();

        Assert.Single(_harness.Fakes.Sender.SentOf<RestoreAllocations>());
        Assert.Contains(_harness.RecordedLog.Entries, entry => entry.EventId.Id == 5016 && entry.Message.Contains("Restored 1 IPs", StringComparison.Ordinal));
        Assert.Equal(Ip("192.168.0.230"), _harness.Fakes.Applied.Find(Key("web"))!.Ip);
    }

    [Fact]
    public async Task ABurstOfChanges_IsReadOnce_AfterItSettles()
    {
        PutRecorded("web", "192.168.0.230");
        StandBy();
        for (var change = 0; change < 50; change++)
        {
            _harness.Queue.Enqueue(Key("web"));
        }

        await ReadingsAsync(1);
        await Task.Yield();
        _harness.Time.Advance(Delay * 5);
        await Task.Delay(50);

        Assert.Single(_harness.Fakes.Sender.SentOf<RestoreAllocations>());
    }

    [Fact]
    public async Task AServiceGoneOrMovedSinceTheLastReading_KeepsNoOldIp()
    {
        PutRecorded("web", "192.168.0.230");
        PutRecorded("api", "192.168.0.231", port: 81);
        StandBy();
        _harness.Queue.EnqueueAll();
        await ReadingsAsync(1);

        _harness.Source.Remove(Key("api"));
        _harness.Source.Records.TryRemove(Key("api"), out _);
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.232")];
        _harness.Queue.EnqueueAll();
        await ReadingsAsync(2);

        Assert.Equal([Ip("192.168.0.232")], _harness.Fakes.Allocations.Leases().Select(lease => lease.Ip));
    }

    [Fact]
    public async Task AChangeAfterTheLastReading_IsReadByTheTermItself()
    {
        PutRecorded("web", "192.168.0.230");
        StandBy();
        _harness.Queue.Enqueue(Key("web"));
        await ReadingsAsync(1);

        // Changed, and the term starts before the standby's delay has passed.
        _harness.Source.Records[Key("web")] = [Ip("192.168.0.233")];
        _harness.Queue.Enqueue(Key("web"));
        await _harness.StartAsync();

        Assert.Equal(2, _harness.Fakes.Sender.SentOf<RestoreAllocations>().Count);
        Assert.Contains(_harness.RecordedLog.Entries, entry => entry.EventId.Id == 5002);
        Assert.Equal(Ip("192.168.0.233"), _harness.Fakes.Applied.Find(Key("web"))!.Ip);
    }

    [Fact]
    public async Task DuringATerm_NothingIsRead_AndAfterItsStandDownTheReadingsResume()
    {
        PutRecorded("web", "192.168.0.230");
        StandBy();
        await _harness.StartAsync();
        var readAtStart = _harness.Fakes.Sender.SentOf<RestoreAllocations>().Count;

        _harness.Queue.Enqueue(Key("web"));
        _harness.Time.Advance(Delay * 3);
        await Task.Delay(50);
        Assert.Equal(readAtStart, _harness.Fakes.Sender.SentOf<RestoreAllocations>().Count);

        await _harness.EndTermAsync(stopping: false);

        // The stand-down released what the term served. Not asserted on the allocator: the standby's reading that waited
        // for the term may already have put the records back by now, which is what it is for.
        Assert.Contains(_harness.Fakes.Sender.SentOf<LoadBalancer.Application.Services.RemoveService.RemoveService>(), command => command.Name == "web");

        // The next reading holds the records again, ready for the next term.
        _harness.Queue.Enqueue(Key("web"));
        await ReadingsAsync(1);
        Assert.Equal([Ip("192.168.0.230")], _harness.Fakes.Allocations.Leases().Select(lease => lease.Ip));
    }

    [Fact]
    public async Task AConflictBetweenRecords_IsLeftToTheTerm_WhichReadsInFullAndTellsIt()
    {
        // Two Services recorded on one IP and port: only the older can keep it.
        PutRecorded("web", "192.168.0.230");
        PutRecorded("copy", "192.168.0.230");
        StandBy();
        _harness.Queue.EnqueueAll();
        await ReadingsAsync(1);

        await _harness.StartAsync();

        Assert.Equal(2, _harness.Fakes.Sender.SentOf<RestoreAllocations>().Count);
        Assert.Contains(_harness.RecordedLog.Entries, entry => entry.EventId.Id == 5002 && entry.Message.Contains("1 conflicts", StringComparison.Ordinal));
    }

    private void PutRecorded(string name, string ip, int port = 80)
    {
        _harness.Source.Put(Service(name, port: port, backends: $"10.0.0.1:{port}"));
        _harness.Source.Records[Key(name)] = [Ip(ip)];
    }

    private void StandBy() => _standingBy = _harness.Reconciler.StandByAsync(_stopping.Token);

    /// <summary>
    /// Moves the clock past the standby's delay until <paramref name="count"/> standby readings have finished (bounded): counted
    /// by their log line (5017), written once the allocator holds what was read, not by the command sent, which the
    /// test could see while the reading is still under way on the standby's thread.
    /// </summary>
    private async Task ReadingsAsync(int count)
    {
        for (var attempt = 0; attempt < 200 && _harness.RecordedLog.Entries.Count(entry => entry.EventId.Id == 5017) < count; attempt++)
        {
            _harness.Time.Advance(Delay);
            await Task.Delay(5);
        }

        Assert.Equal(count, _harness.RecordedLog.Entries.Count(entry => entry.EventId.Id == 5017));
        Assert.Equal(count + _harness.RecordedLog.Entries.Count(entry => entry.EventId.Id == 5002), _harness.Fakes.Sender.SentOf<RestoreAllocations>().Count);
    }
}
