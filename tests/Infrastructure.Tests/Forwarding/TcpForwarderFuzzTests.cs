using System.Net.Sockets;
using System.Security.Cryptography;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>
/// A seeded random schedule of what the behaviour suite checks one at a time: echo exchanges of any size, half-closes
/// answered after the client's FIN, client resets mid-stream and after a half-close, backends that reset, all at once
/// while the listeners' backend sets are swapped under them. Every exchange must come through intact, every connection
/// must end, and the forwarder must be back to no open connection and no descriptor left. A failure names its seed.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderFuzzTests(ITestOutputHelper output)
{
    private const int Sessions = 160;
    private const int AtOnce = 16;
    private const int Swaps = 400;
    private const int ResponseBytes = 300_000;
    private const ulong ResponseSeed = 77;

    public static TheoryData<ForwardingEngine, int> EnginesAndSeeds()
    {
        var data = new TheoryData<ForwardingEngine, int>();
        foreach (var engine in Engines.All)
        {
            foreach (var seed in new[] { 1, 2 })
            {
                data.Add(engine, seed);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesAndSeeds))]
    public async Task RandomResetsHalfClosesAndSwaps_EveryExchangeIntact_NothingLeftOpen(ForwardingEngine engine, int seed)
    {
        await FileDescriptors.WarmUpSocketsAsync();
        var kindsBefore = FileDescriptors.CountByKind();
        output.WriteLine($"{engine}, seed {seed}: before: {await FileDescriptors.SettledCountAsync()} ({FileDescriptors.Describe(kindsBefore)})");
        kindsBefore = FileDescriptors.CountByKind();

        var outcomes = new List<string>();
        await using (var echoA = LoopbackServer.StartEcho())
        await using (var echoB = LoopbackServer.StartEcho())
        await using (var answerA = LoopbackServer.StartRespondingAfterEof(ResponseBytes, ResponseSeed))
        await using (var answerB = LoopbackServer.StartRespondingAfterEof(ResponseBytes, ResponseSeed))
        await using (var resetting = LoopbackServer.StartResettingAfterFirstRead())
        await using (var forwarder = TestForwarders.Create(engine, output))
        {
            var echo = await forwarder.ListenAsync(echoA.Endpoint);
            var answer = await forwarder.ListenAsync(answerA.Endpoint);
            var resets = await forwarder.ListenAsync(resetting.Endpoint);

            using var stopSwapping = new CancellationTokenSource();
            var swapping = SwapAsync(forwarder, new Random(seed), [(echo, [echoA.Endpoint, echoB.Endpoint]), (answer, [answerA.Endpoint, answerB.Endpoint])], stopSwapping.Token);

            using var running = new SemaphoreSlim(AtOnce);
            var sessions = Enumerable.Range(0, Sessions).Select(async i =>
            {
                await running.WaitAsync();
                try
                {
                    return await RunSessionAsync(new Random((seed * 1000) + i), i, echo, answer, resets);
                }
                finally
                {
                    running.Release();
                }
            });
            outcomes.AddRange(await Bounded.WithinAsync(Task.WhenAll(sessions), TimeSpan.FromSeconds(60), $"{Sessions} sessions (seed {seed})"));
            await stopSwapping.CancelAsync();
            var swapped = await Bounded.WithinAsync(swapping, TimeSpan.FromSeconds(10), "the swapping task");
            output.WriteLine($"{engine}, seed {seed}: {swapped} swaps; outcomes: {string.Join(", ", outcomes.GroupBy(o => o).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}"))}");

            foreach (var binding in new[] { echo, answer, resets })
            {
                await forwarder.WaitForStatisticsAsync(binding, statistics => statistics.Listener.ConnectionsActive == 0, $"no connection open on {binding} (seed {seed})");
            }

            Assert.Empty(echoA.Faults.Concat(echoB.Faults).Concat(answerA.Faults).Concat(answerB.Faults).Concat(resetting.Faults));
        }

        var kindsAfter = new Dictionary<string, int>();
        await Bounded.UntilAsync(
            () =>
            {
                kindsAfter = new Dictionary<string, int>(FileDescriptors.CountByKind());
                return kindsAfter.All(kind => kind.Value <= kindsBefore.GetValueOrDefault(kind.Key));
            },
            TimeSpan.FromSeconds(5),
            $"the process is back to its sockets, pipes and anonymous inodes (seed {seed})",
            () => $"now {FileDescriptors.Describe(kindsAfter)}; before {FileDescriptors.Describe(kindsBefore)}");
    }

    /// <summary>Re-applies each listener with a random non-empty subset of its backends until stopped or done; returns how many swaps.</summary>
    private static async Task<int> SwapAsync(
        TcpForwarder forwarder, Random random, (PortBinding Binding, Endpoint[] Backends)[] listeners, CancellationToken stop)
    {
        var swaps = 0;
        for (; swaps < Swaps && !stop.IsCancellationRequested; swaps++)
        {
            try
            {
                await Task.Delay(random.Next(1, 6), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var (binding, backends) = listeners[random.Next(listeners.Length)];
            var subset = backends.Where(_ => random.Next(2) == 0).ToArray();
            await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, subset.Length == 0 ? [backends[random.Next(backends.Length)]] : subset));
        }

        return swaps;
    }

    private static async Task<string> RunSessionAsync(Random random, int i, PortBinding echo, PortBinding answer, PortBinding resets)
    {
        var what = $"session {i}";
        switch (random.Next(8))
        {
            case < 3:
                {
                    // Echo exchanges of any size, then a half-close: everything comes back, then the backend's FIN.
                    using var client = await TestSockets.ConnectAsync(echo);
                    for (var round = random.Next(1, 5); round > 0; round--)
                    {
                        await client.EchoAsync(RandomBytes(random, random.Next(2) == 0 ? random.Next(1, 64) : random.Next(1, 256 * 1024)), TimeSpan.FromSeconds(15));
                        await Task.Delay(random.Next(0, 4)); // so that swaps land between the rounds of one connection
                    }

                    client.Shutdown(SocketShutdown.Send);
                    var (rest, closed) = await client.ReadToCloseAsync(TestSockets.ShortWait, what);
                    Assert.True(closed.Kind == CloseKind.Eof && rest.Length == 0, $"{what}: after its half-close the echo ended with {closed.Kind} and {rest.Length} more bytes");
                    return "echo";
                }

            case 3:
                {
                    // The client sends a stream and its FIN; the backend answers only after that FIN reached it.
                    using var client = await TestSockets.ConnectAsync(answer);
                    var reading = client.ReadToCloseAsync(TimeSpan.FromSeconds(20), what);
                    await Bounded.WithinAsync(
                        ct => client.SendSeededAsync(random.Next(1, 1024 * 1024), (ulong)random.NextInt64(), ct), TimeSpan.FromSeconds(15), $"{what}: sending");
                    client.Shutdown(SocketShutdown.Send);
                    var (response, closed) = await reading;
                    Assert.Equal(CloseKind.Eof, closed.Kind);
                    Assert.Equal(Hash(new SeededBytes(ResponseSeed).Next(ResponseBytes)), Hash(response));
                    return "half-close";
                }

            case 4:
                {
                    // A reset in the middle of a stream the backend is still echoing.
                    using var client = await TestSockets.ConnectAsync(echo);
                    await Bounded.WithinAsync(ct => client.SendAllAsync(RandomBytes(random, random.Next(1, 512 * 1024)), ct), TimeSpan.FromSeconds(15), $"{what}: sending");
                    client.Abort();
                    return "client-reset";
                }

            case 5:
                {
                    // A reset right after a half-close, while the answer may be on its way.
                    using var client = await TestSockets.ConnectAsync(answer);
                    await Bounded.WithinAsync(ct => client.SendAllAsync(RandomBytes(random, random.Next(1, 4096)), ct), TestSockets.ShortWait, $"{what}: sending");
                    client.Shutdown(SocketShutdown.Send);
                    if (random.Next(2) == 0)
                    {
                        await Task.Delay(random.Next(0, 5));
                    }

                    client.Abort();
                    return "reset-after-half-close";
                }

            case 6:
                {
                    // A client that connects and leaves without a byte.
                    using var client = await TestSockets.ConnectAsync(random.Next(2) == 0 ? echo : answer);
                    client.Close();
                    return "empty";
                }

            default:
                {
                    // The backend resets after the first read: the client must see its connection end.
                    using var client = await TestSockets.ConnectAsync(resets);
                    await Bounded.WithinAsync(ct => client.SendAllAsync(RandomBytes(random, random.Next(1, 2048)), ct), TestSockets.ShortWait, $"{what}: sending");
                    var closed = await client.WaitForCloseAsync(TestSockets.ShortWait, what);
                    return $"backend-reset:{closed.Kind}";
                }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));
}
