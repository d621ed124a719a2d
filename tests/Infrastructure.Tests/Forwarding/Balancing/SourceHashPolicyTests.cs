using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Tests.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Balancing;

public sealed class SourceHashPolicyTests
{
    private static readonly IPEndPoint[] Clients =
        [.. Enumerable.Range(0, 2_000).Select(index => new IPEndPoint(new IPAddress([172, 16, (byte)(index / 250), (byte)(index % 250)]), 40_000))];

    [Fact]
    public void Pick_SameClientAddressFromAnyPort_GoesToTheSameBackend()
    {
        var backends = TestBackends.Many(5);
        var policy = new SourceHashPolicy();

        var picks = Enumerable.Range(0, 50)
            .Select(port => policy.Pick(backends, new IPEndPoint(IPAddress.Parse("192.0.2.7"), 30_000 + port)))
            .Distinct();

        Assert.Single(picks);
    }

    [Fact]
    public void Pick_ManyClients_SpreadOverEveryBackend()
    {
        var backends = TestBackends.Many(4);
        var policy = new SourceHashPolicy();

        var counts = Clients.Select(client => policy.Pick(backends, client)).CountBy(backend => backend).ToDictionary();

        // 500 each on average.
        Assert.All(backends, backend => Assert.InRange(counts.GetValueOrDefault(backend), 380, 620));
    }

    [Fact]
    public void Pick_BackendRemoved_OnlyItsClientsMove()
    {
        var backends = TestBackends.Many(5);
        var policy = new SourceHashPolicy();
        var before = Clients.Select(client => policy.Pick(backends, client)).ToList();

        var removed = backends[2];
        BackendState[] remaining = [.. backends.Where(backend => backend != removed)];
        var after = Clients.Select(client => policy.Pick(remaining, client)).ToList();

        var moved = Enumerable.Range(0, Clients.Length).Where(index => before[index] != after[index]).ToList();
        Assert.All(moved, index => Assert.Same(removed, before[index]));
        Assert.Equal(before.Count(backend => backend == removed), moved.Count);

        // And the removed backend's clients spread over the others rather than all landing on one.
        Assert.Equal(4, moved.Select(index => after[index]).Distinct().Count());
    }

    [Fact]
    public void Pick_BackendAdded_OnlyClientsOfTheNewBackendMove()
    {
        var backends = TestBackends.Many(4);
        var policy = new SourceHashPolicy();
        var before = Clients.Select(client => policy.Pick(backends, client)).ToList();

        var added = TestBackends.Create("10.0.0.9");
        var after = Clients.Select(client => policy.Pick([.. backends, added], client)).ToList();

        var moved = Enumerable.Range(0, Clients.Length).Where(index => before[index] != after[index]).ToList();
        Assert.All(moved, index => Assert.Same(added, after[index]));
        Assert.InRange(moved.Count, 300, 500);
    }

    [Fact]
    public void Pick_CandidatesInAnotherOrder_ChoosesTheSameBackend()
    {
        var backends = TestBackends.Many(6);
        var reversed = backends.Reverse().ToArray();
        var policy = new SourceHashPolicy();

        Assert.All(Clients.Take(200), client => Assert.Same(policy.Pick(backends, client), policy.Pick(reversed, client)));
    }

    [Fact]
    public void Pick_NewBackendStatesForTheSameEndpoints_ChooseTheSameEndpoint()
    {
        // The listener rebuilds states on some changes; affinity follows the endpoint, not the object.
        var policy = new SourceHashPolicy();
        var first = TestBackends.Many(3);
        var second = TestBackends.Many(3);

        Assert.All(Clients.Take(200), client => Assert.Equal(policy.Pick(first, client).EndPoint, policy.Pick(second, client).EndPoint));
    }

    [Fact]
    public void Pick_IPv4ClientSeenAsMappedIPv6_GoesWhereTheIPv4ClientGoes()
    {
        var backends = TestBackends.Many(7);
        var policy = new SourceHashPolicy();

        Assert.All(Clients.Take(200), client =>
            Assert.Same(policy.Pick(backends, client), policy.Pick(backends, new IPEndPoint(client.Address.MapToIPv6(), 1234))));
    }

    [Fact]
    public void Pick_IPv6Clients_SpreadOverEveryBackend()
    {
        var backends = TestBackends.Many(3);
        var policy = new SourceHashPolicy();

        var picks = Enumerable.Range(1, 300)
            .Select(index => policy.Pick(backends, new IPEndPoint(IPAddress.Parse($"2001:db8::{index:x}"), 5000)))
            .ToHashSet();

        Assert.Equal(3, picks.Count);
    }

    [Fact]
    public void Pick_NoClientAddress_TakesTurns()
    {
        var backends = TestBackends.Many(3);
        var policy = new SourceHashPolicy();

        var picks = Enumerable.Range(0, 6).Select(_ => policy.Pick(backends, null)).ToList();

        Assert.Equal([backends[0], backends[1], backends[2], backends[0], backends[1], backends[2]], picks);
    }

    [Fact]
    public void Pick_ManyThreadsAtOnce_AgreesWithASingleThread()
    {
        var backends = TestBackends.Many(5);
        var policy = new SourceHashPolicy();
        var expected = Clients.Select(client => policy.Pick(backends, client)).ToArray();
        var disagreements = 0;

        Parallel.For(0, 8, _ =>
        {
            for (var index = 0; index < Clients.Length; index++)
            {
                if (policy.Pick(backends, Clients[index]) != expected[index])
                {
                    Interlocked.Increment(ref disagreements);
                }
            }
        });

        Assert.Equal(0, disagreements);
    }
}
