using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>Many connections at once, and a backend change while they run.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderLoadTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ThousandConcurrentConnections_EachGetsItsOwnEchoWhileAllAreOpen(ForwardingEngine engine)
    {
        const int Count = 1000;
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        var clients = new ConcurrentBag<Socket>();
        try
        {
            using var opening = new SemaphoreSlim(100);
            await Bounded.WithinAsync(
                Task.WhenAll(Enumerable.Range(0, Count).Select(async i =>
                {
                    await opening.WaitAsync();
                    try
                    {
                        var client = await TestSockets.ConnectAsync(binding);
                        clients.Add(client);
                        await client.EchoAsync(Message(i, "first"), TimeSpan.FromSeconds(20));
                    }
                    finally
                    {
                        opening.Release();
                    }
                })),
                TimeSpan.FromSeconds(60),
                $"{Count} clients to connect and get their echo");

            await forwarder.WaitForStatisticsAsync(
                binding, statistics => statistics.Listener.ConnectionsActive == Count, $"{Count} connections are active at once", TimeSpan.FromSeconds(10));
            Assert.Equal(Count, echo.Accepted);
            Assert.Equal(Count, echo.Open);

            // While all are open, every one still carries its own bytes and nobody else's.
            var open = clients.ToArray();
            await Bounded.WithinAsync(
                Task.WhenAll(open.Select((client, i) => client.EchoAsync(Message(i, "second"), TimeSpan.FromSeconds(20)))),
                TimeSpan.FromSeconds(30),
                "a second echo on every open connection");
        }
        finally
        {
            TestSockets.DisposeAll(clients);
        }

        await forwarder.WaitForStatisticsAsync(
            binding, statistics => statistics.Listener.ConnectionsActive == 0, "every connection is closed", TimeSpan.FromSeconds(10));
        await Bounded.UntilAsync(() => echo.Open == 0, TimeSpan.FromSeconds(10), "the backend has no connection left", echo.ToString);
        Assert.Empty(echo.Faults);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task BackendSetSwappedUnderLoad_NewConnectionsGoToTheNewSetAndOldOnesStreamOnUntouched(ForwardingEngine engine)
    {
        const int Streams = 20;
        const int NewConnections = 10;
        await using var a1 = LoopbackServer.StartEcho();
        await using var a2 = LoopbackServer.StartEcho();
        await using var b1 = LoopbackServer.StartEcho();
        await using var b2 = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(a1.Endpoint, a2.Endpoint);

        var rounds = new int[Streams];
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var streams = Enumerable.Range(0, Streams).Select(i => StreamUntilAsync(binding, i, rounds, finish.Task)).ToArray();
        try
        {
            await Bounded.UntilAsync(
                () => NoneFailed(streams) && Enumerable.Range(0, Streams).All(i => Volatile.Read(ref rounds[i]) >= 3),
                TimeSpan.FromSeconds(15),
                "every stream has made 3 round trips through set A",
                () => string.Join(",", rounds));
            Assert.Equal(Streams, a1.Accepted + a2.Accepted);

            await forwarder.ApplySucceedsAsync(TestForwarders.Spec(binding, [b1.Endpoint, b2.Endpoint]));
            var atSwap = Enumerable.Range(0, Streams).Select(i => Volatile.Read(ref rounds[i])).ToArray();

            for (var i = 0; i < NewConnections; i++)
            {
                using var client = await TestSockets.ConnectAsync(binding);
                await client.EchoAsync(Encoding.ASCII.GetBytes($"after the swap {i}"));
            }

            Assert.Equal(NewConnections, b1.Accepted + b2.Accepted);
            Assert.True(b1.Accepted > 0 && b2.Accepted > 0, $"round-robin over set B should use both: {b1}, {b2}");
            Assert.Equal(Streams, a1.Accepted + a2.Accepted);

            await Bounded.UntilAsync(
                () => NoneFailed(streams) && Enumerable.Range(0, Streams).All(i => Volatile.Read(ref rounds[i]) >= atSwap[i] + 3),
                TimeSpan.FromSeconds(15),
                "every old stream has made 3 more round trips after the swap",
                () => string.Join(",", rounds));
        }
        finally
        {
            finish.TrySetResult();
        }

        // Each stream ends cleanly: its last echo matched, its FIN went through and the backend's came back.
        await Bounded.WithinAsync(Task.WhenAll(streams), TimeSpan.FromSeconds(15), "the old streams to finish");
        Assert.Equal([binding], forwarder.Listeners);
        Assert.Empty(a1.Faults.Concat(a2.Faults).Concat(b1.Faults).Concat(b2.Faults));
    }

    private static byte[] Message(int client, string round) => Encoding.ASCII.GetBytes($"client {client:D4} {round} hello");

    /// <summary>Rethrows the first stream's failure at once, rather than waiting out a count it will never reach.</summary>
    private static bool NoneFailed(Task[] streams)
    {
        var failed = Array.Find(streams, stream => stream.IsFaulted);
        failed?.GetAwaiter().GetResult();
        return true;
    }

    private static async Task StreamUntilAsync(PortBinding binding, int index, int[] rounds, Task finish)
    {
        using var client = await TestSockets.ConnectAsync(binding);
        var source = new SeededBytes((ulong)index + 1);
        var chunk = new byte[16 * 1024];
        while (!finish.IsCompleted)
        {
            source.Fill(chunk);
            await client.EchoAsync(chunk);
            Interlocked.Increment(ref rounds[index]);
        }

        client.Shutdown(SocketShutdown.Send);
        var closed = await client.WaitForCloseAsync(TestSockets.ShortWait, $"stream {index} after its FIN");
        Assert.True(closed.Kind == CloseKind.Eof && closed.BytesBeforeClose == 0, $"stream {index} should end with a clean EOF; it saw {closed}");
    }
}
