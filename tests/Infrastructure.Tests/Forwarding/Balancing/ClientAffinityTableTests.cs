using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Balancing;

public sealed class ClientAffinityTableTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10_800);

    private readonly FakeTimeProvider _time = new();
    private readonly BackendState[] _backends = TestBackends.Many(3);
    private readonly RoundRobinPolicy _roundRobin = new();

    [Fact]
    public void Pick_SameClientFromAnyPort_KeepsItsFirstBackend_WhileRoundRobinPlacesNewClients()
    {
        var table = new ClientAffinityTable(Timeout, _time);

        var first = table.Pick(Client(7), _backends, _roundRobin);
        var again = Enumerable.Range(1, 20).Select(port => table.Pick(Client(7, 40_000 + port), _backends, _roundRobin)).Distinct().ToList();
        var others = Enumerable.Range(8, 2).Select(client => table.Pick(Client(client), _backends, _roundRobin)).ToList();

        Assert.Same(_backends[0], first);
        Assert.Equal([first], again);

        // The 20 repeats did not turn the policy: the next new clients get the next backends in turn.
        Assert.Equal([_backends[1], _backends[2]], others);
        Assert.Equal(3, table.Count);
    }

    [Fact]
    public void Pick_JustBeforeTheTimeout_KeepsTheBackend_AndEachConnectionRestartsTheTimeout()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var first = table.Pick(Client(7), _backends, _roundRobin);

        // Three times the timeout in all, but never the timeout since the client's last connection.
        for (var step = 0; step < 3; step++)
        {
            _time.Advance(Timeout - TimeSpan.FromSeconds(1));
            Assert.Same(first, table.Pick(Client(7), _backends, _roundRobin));
        }
    }

    [Fact]
    public void Pick_TimeoutAfterTheLastConnection_PlacesTheClientAgain()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var first = table.Pick(Client(7), _backends, _roundRobin);

        _time.Advance(Timeout);
        var after = table.Pick(Client(7), _backends, _roundRobin);

        // Round-robin's next turn: a placement anew, not the old entry.
        Assert.Same(_backends[1], after);
        Assert.NotSame(first, after);
        _time.Advance(Timeout - TimeSpan.FromSeconds(1));
        Assert.Same(after, table.Pick(Client(7), _backends, _roundRobin));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Pick_BackendNoLongerAvailable_MovesTheClient_WhichStaysOnTheNewOneWhenTheOldComesBack()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var first = table.Pick(Client(7), _backends, _roundRobin);

        // The available set without the client's backend (unhealthy, ejected or not ready).
        BackendState[] withoutFirst = [.. _backends.Where(backend => backend != first)];
        var moved = table.Pick(Client(7), withoutFirst, _roundRobin);
        var back = Enumerable.Range(0, 5).Select(_ => table.Pick(Client(7), _backends, _roundRobin)).Distinct().ToList();

        Assert.NotSame(first, moved);
        Assert.Equal([moved], back);
        Assert.Same(moved, table.Find(Client(7).Address));
    }

    [Fact]
    public void Rebind_KeepsClientsOfBackendsStillThere_DropsClientsOfRemovedOnes_AndFollowsReplacedStates()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var placed = Enumerable.Range(0, 3).Select(client => table.Pick(Client(client), _backends, _roundRobin)).ToList();
        Assert.Equal(_backends, placed);

        // Backend 0 stays as it is, backend 1 leaves, backend 2 stays at the same address with a new state (as after a
        // change of health-check settings).
        var replaced = TestBackends.Create(_backends[2].EndPoint);
        table.Rebind(new Dictionary<IPEndPoint, BackendState> { [_backends[0].EndPoint] = _backends[0], [replaced.EndPoint] = replaced });

        Assert.Equal(2, table.Count);
        Assert.Same(_backends[0], table.Find(Client(0).Address));
        Assert.Null(table.Find(Client(1).Address));
        Assert.Same(replaced, table.Find(Client(2).Address));
        Assert.Same(replaced, table.Pick(Client(2), [_backends[0], replaced], _roundRobin));
    }

    [Fact]
    public void Pick_MoreClientsThanTheCapacity_EvictsTheLeastRecentlySeen_AndStaysWithinTheBound()
    {
        var evictions = new List<int>();
        var table = new ClientAffinityTable(Timeout, _time, capacity: 64, evicted: (evicted, capacity) => evictions.Add(evicted));
        for (var client = 0; client < 200; client++)
        {
            _ = table.Pick(Client(client), _backends, _roundRobin);
            _time.Advance(TimeSpan.FromSeconds(1));

            // Client 0 keeps coming back, so it is never the least recently seen.
            _ = table.Pick(Client(0), _backends, _roundRobin);
            Assert.InRange(table.Count, 1, 64);
        }

        Assert.NotEmpty(evictions);
        // Down to a sixteenth below the capacity (60), from one over it (65).
        Assert.All(evictions, evicted => Assert.Equal(5, evicted));
        Assert.Same(_backends[0], table.Find(Client(0).Address));
        Assert.NotNull(table.Find(Client(199).Address));
        Assert.Null(table.Find(Client(1).Address));
    }

    [Fact]
    public void Pick_FullTableOfExpiredEntries_SweepsThemInsteadOfEvictingLiveOnes()
    {
        var evictions = new List<int>();
        var table = new ClientAffinityTable(TimeSpan.FromSeconds(10), _time, capacity: 32, evicted: (evicted, _) => evictions.Add(evicted));
        for (var client = 0; client < 32; client++)
        {
            _ = table.Pick(Client(client), _backends, _roundRobin);
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        _ = table.Pick(Client(100), _backends, _roundRobin);

        Assert.Equal(1, table.Count);
        Assert.Empty(evictions);
    }

    [Fact]
    public void Timeout_ChangedInPlace_KeepsTheEntries_AndAppliesTheNewTimeout()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var first = table.Pick(Client(7), _backends, _roundRobin);

        table.Timeout = TimeSpan.FromSeconds(60);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Same(first, table.Pick(Client(7), _backends, _roundRobin));
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.NotSame(first, table.Pick(Client(7), _backends, _roundRobin));
    }

    [Fact]
    public void KeyOf_IPv4AndItsMappedIPv6Form_AreOneClient()
    {
        var v4 = IPAddress.Parse("192.0.2.7");

        Assert.Equal(ClientAffinityTable.KeyOf(v4), ClientAffinityTable.KeyOf(v4.MapToIPv6()));
        Assert.NotEqual(ClientAffinityTable.KeyOf(v4), ClientAffinityTable.KeyOf(IPAddress.Parse("192.0.2.8")));
        Assert.NotEqual(ClientAffinityTable.KeyOf(IPAddress.Parse("2001:db8::7")), ClientAffinityTable.KeyOf(IPAddress.Parse("2001:db8::8")));
    }

    [Fact]
    public void Pick_ManyThreadsAtOnce_EveryClientGetsOneBackendForAllItsConnections()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var seen = new ConcurrentDictionary<int, ConcurrentDictionary<BackendState, byte>>();

        // Every thread connects as every client, so the first connections of one client race each other.
        Parallel.For(0, 8, thread =>
        {
            for (var round = 0; round < 50; round++)
            {
                for (var client = 0; client < 200; client++)
                {
                    var backend = table.Pick(Client(client, 30_000 + thread), _backends, _roundRobin);
                    seen.GetOrAdd(client, _ => new()).TryAdd(backend, 0);
                }
            }
        });

        Assert.Equal(200, table.Count);
        Assert.All(seen, pair => Assert.Single(pair.Value));

        // Round-robin spread the first connections: each backend got about a third of the clients.
        var perBackend = seen.Values.Select(backends => backends.Keys.Single()).CountBy(backend => backend).ToDictionary();
        Assert.All(_backends, backend => Assert.InRange(perBackend.GetValueOrDefault(backend), 40, 100));
    }

    [Fact]
    public void PickBackend_RetryAfterTheClientsBackendFailed_MovesTheClientToTheRetry()
    {
        var table = new ClientAffinityTable(Timeout, _time);
        var route = new ListenerRoute(new BackendSnapshot(_backends), _roundRobin, null, table);
        var client = Client(7);

        var first = ListenerContext.PickBackend(route, client, [])!;
        var retry = ListenerContext.PickBackend(route, client, [first])!;
        var next = Enumerable.Range(0, 4).Select(_ => ListenerContext.PickBackend(route, client, [])).Distinct().ToList();

        Assert.True(route.NeedsClientAddress);
        Assert.NotSame(first, retry);
        Assert.Equal([retry], next);
    }

    [Fact]
    public void PickBackend_WithoutAffinity_RoundRobinAlternatesForOneClient()
    {
        // The control for the tests above: the same client, no table, no affinity.
        var route = new ListenerRoute(new BackendSnapshot(_backends), _roundRobin, null);

        var picks = Enumerable.Range(0, 3).Select(_ => ListenerContext.PickBackend(route, Client(7), [])).ToList();

        Assert.False(route.NeedsClientAddress);
        Assert.Equal(_backends, picks);
    }

    private static IPEndPoint Client(int index, int port = 40_000) => new(new IPAddress([192, 0, (byte)(2 + index / 250), (byte)(index % 250)]), port);
}
