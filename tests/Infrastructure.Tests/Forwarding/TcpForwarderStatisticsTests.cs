using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Endpoints;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderStatisticsTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
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

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task OpenConnection_IsActiveWithItsBytes_InTheListenerAndItsBackend_InItsStatistics(ForwardingEngine engine)
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(echo.Endpoint);

        using (var client = await TestSockets.ConnectAsync(binding))
        {
            await client.EchoAsync(new SeededBytes(7).Next(1000));
            await forwarder.WaitForStatisticsAsync(
                binding,
                statistics => statistics.Listener is { ConnectionsActive: 1, BytesFromClient: 1000, BytesFromBackend: 1000 }
                    && statistics.Of(echo.Endpoint) is { ConnectionsActive: 1, BytesFromClient: 1000, BytesFromBackend: 1000 },
                "the open connection and its 1000 bytes each way");

            var listed = Assert.Single(forwarder.GetAllStatistics(), statistics => statistics.Binding == binding);
            Assert.Equal(TestForwarders.Service, listed.Service);
            var backend = Assert.Single(listed.Backends);
            Assert.Equal(BackendHealthState.Healthy, backend.Health);
            Assert.True(backend.Available);
            Assert.False(listed.FallingBack);
            Assert.Equal(1, forwarder.GetStatistics(binding)!.Listener.ConnectionsOpened);
        }

        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Listener is { ConnectionsActive: 0, ConnectionsOpened: 1 } && statistics.Of(echo.Endpoint).ConnectionsActive == 0,
            "the connection closed");
        await forwarder.StopAsync(binding, TimeSpan.Zero, CancellationToken.None);
        Assert.Null(forwarder.GetStatistics(binding));
        Assert.DoesNotContain(forwarder.GetAllStatistics(), statistics => statistics.Binding == binding);
    }

    [Fact]
    public async Task BackendStates_NotReadyAndEjected_AreToldApart_AndAllOutMeansFallingBack()
    {
        using var refusing = new RefusingPort();
        var notReady = new Endpoint(refusing.Endpoint.Address, refusing.Endpoint.Port == 65535 ? 1 : refusing.Endpoint.Port + 1, ready: false);
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Copy, output,
            options => options with { PassiveEjectionThreshold = 1, PassiveEjectionDuration = TimeSpan.FromMinutes(5), MaxConnectAttempts = 1 });
        var binding = await forwarder.ListenAsync(refusing.Endpoint, notReady);

        // The only ready backend refuses: one failed connect ejects it.
        using (var client = await TestSockets.ConnectAsync(binding))
        {
            await client.WaitForCloseAsync(TestSockets.ShortWait, "the client reset after the refused connect");
        }

        await forwarder.WaitForStatisticsAsync(
            binding,
            statistics => statistics.Backends.Any(backend => backend.Endpoint == refusing.Endpoint && backend.Health == BackendHealthState.Ejected),
            "the refusing backend ejected");
        var statistics = forwarder.Statistics(binding);
        Assert.Equal(BackendHealthState.NotReady, Assert.Single(statistics.Backends, backend => backend.Endpoint == notReady).Health);
        Assert.All(statistics.Backends, backend => Assert.False(backend.Available));
        Assert.True(statistics.FallingBack);
        Assert.Equal(1, statistics.Of(refusing.Endpoint).ConnectionsFailed);
    }
}
