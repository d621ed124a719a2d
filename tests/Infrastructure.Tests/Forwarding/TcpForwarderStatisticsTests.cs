using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderStatisticsTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task KnownTransfers_AreCountedPerListenerAndPerBackend(ForwardingEngine engine)
    {
        int[] requestSizes = [111_111, 222_222, 33_333];
        await using var a = LoopbackServer.StartRespondingAfterEof(10_000, seed: 41);
        await using var b = LoopbackServer.StartRespondingAfterEof(20_000, seed: 42);
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(a.Endpoint, b.Endpoint);

        long responses = 0;
        foreach (var size in requestSizes)
        {
            using var client = await TestSockets.ConnectAsync(binding);
            await Bounded.WithinAsync(
                cancellationToken => client.SendAllAsync(new SeededBytes((ulong)size).Next(size), cancellationToken),
                TestSockets.ShortWait,
                $"a {size}-byte request to be sent");
            client.Shutdown(SocketShutdown.Send);
            var (response, closed) = await client.ReadToCloseAsync(TestSockets.ShortWait, "the response");
            Assert.Equal(CloseKind.Eof, closed.Kind);
            responses += response.Length;
        }

        Assert.Equal(requestSizes.Sum(), a.BytesReceived + b.BytesReceived);
        Assert.Equal(responses, a.BytesSent + b.BytesSent);
        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics =>
                statistics.Listener.BytesFromClient == requestSizes.Sum()
                && statistics.Listener.BytesFromBackend == responses
                && statistics.Of(a.Endpoint).BytesFromClient == a.BytesReceived
                && statistics.Of(a.Endpoint).BytesFromBackend == a.BytesSent
                && statistics.Of(b.Endpoint).BytesFromClient == b.BytesReceived
                && statistics.Of(b.Endpoint).BytesFromBackend == b.BytesSent,
            $"bytes counted per listener and per backend (a received {a.BytesReceived} sent {a.BytesSent}; b received {b.BytesReceived} sent {b.BytesSent})");
        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics =>
                statistics.Listener.ConnectionsOpened == requestSizes.Length
                && statistics.Listener.ConnectionsActive == 0
                && statistics.Of(a.Endpoint).ConnectionsOpened == a.Accepted
                && statistics.Of(b.Endpoint).ConnectionsOpened == b.Accepted
                && statistics.Of(a.Endpoint).ConnectionsActive == 0
                && statistics.Of(b.Endpoint).ConnectionsActive == 0,
            $"connections counted per listener and per backend (a accepted {a.Accepted}, b accepted {b.Accepted})");
        var final = forwarder.Statistics(binding);
        Assert.Equal(0, final.Listener.ConnectionsFailed);
        Assert.Equal(0, final.Listener.ConnectionsRejected);
    }
}
