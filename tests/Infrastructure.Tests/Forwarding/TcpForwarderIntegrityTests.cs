using System.Net.Sockets;
using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding;

/// <summary>What goes in one side comes out the other: every byte, in order, with the ends (FIN, RST) carried across.</summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class TcpForwarderIntegrityTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task OneConnection_256MiBEachWayAtOnce_ArrivesIntactBothWays(ForwardingEngine engine)
    {
        const long Size = 256L * 1024 * 1024;
        var limit = TimeSpan.FromSeconds(60);
        var backendDone = new TaskCompletionSource<(StreamDigest Sent, StreamDigest Received)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = LoopbackServer.Start(async (socket, cancellationToken) =>
        {
            try
            {
                var receiving = socket.ReceiveDigestAsync(cancellationToken);
                var sent = await socket.SendSeededAsync(Size, seed: 0xBAC4E4D, cancellationToken);
                socket.Shutdown(SocketShutdown.Send);
                backendDone.TrySetResult((sent, await receiving));
            }
            catch (Exception e)
            {
                backendDone.TrySetException(e);
                throw;
            }
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(backend.Endpoint);

        using var client = await TestSockets.ConnectAsync(binding);
        var started = DateTime.UtcNow;
        var (clientSent, clientReceived) = await Bounded.WithinAsync(
            async cancellationToken =>
            {
                var receiving = client.ReceiveDigestAsync(cancellationToken);
                var sent = await client.SendSeededAsync(Size, seed: 0xC11E47, cancellationToken);
                client.Shutdown(SocketShutdown.Send);
                return (sent, await receiving);
            },
            limit,
            "the client to send 256 MiB and receive 256 MiB and EOF");
        var (backendSent, backendReceived) = await Bounded.WithinAsync(backendDone.Task, limit, "the backend to finish both directions");
        output.WriteLine($"{engine}: 2 x 256 MiB in {(DateTime.UtcNow - started).TotalSeconds:F1} s");

        Assert.Equal(clientSent, backendReceived);
        Assert.Equal(backendSent, clientReceived);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientHalfCloses_BackendAnswersAfterEof_ClientGetsTheWholeResponseThenEof(ForwardingEngine engine)
    {
        const int ResponseSize = 1024 * 1024;
        var request = new SeededBytes(21).Next(10_000);
        var response = new SeededBytes(22).Next(ResponseSize);
        var backendGot = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = LoopbackServer.Start(async (socket, cancellationToken) =>
        {
            var (received, closed) = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(10), "the backend reading the request");
            backendGot.TrySetResult(received);
            if (closed.Kind != CloseKind.Eof)
            {
                return;
            }

            await socket.SendAllAsync(response, cancellationToken);
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(backend.Endpoint);

        using var client = await TestSockets.ConnectAsync(binding);
        await Bounded.WithinAsync(cancellationToken => client.SendAllAsync(request, cancellationToken), TestSockets.ShortWait, "the request to be sent");

        client.Shutdown(SocketShutdown.Send);
        var (received, closed) = await client.ReadToCloseAsync(TimeSpan.FromSeconds(10), "the client reading the response");

        Assert.Equal(request, await Bounded.WithinAsync(backendGot.Task, TestSockets.ShortWait, "the backend to see the request and EOF"));
        Assert.Equal(CloseKind.Eof, closed.Kind);
        Assert.Equal(ResponseSize, received.Length);
        Assert.True(response.AsSpan().SequenceEqual(received), "the response arrived with different bytes");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task BackendResets_ClientSeesResetNotEof(ForwardingEngine engine)
    {
        var abort = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = LoopbackServer.Start(async (socket, cancellationToken) =>
        {
            var hello = new byte[5];
            await socket.ReceiveExactlyAsync(hello, cancellationToken);
            await socket.SendAllAsync("ready"u8.ToArray(), cancellationToken);
            await abort.Task.WaitAsync(cancellationToken);
            socket.Abort();
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(backend.Endpoint);

        using var client = await TestSockets.ConnectAsync(binding);
        await ExchangeHelloReadyAsync(client);
        abort.SetResult();
        var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(3), "the client after the backend's RST");
        output.WriteLine($"{engine}: client saw {closed}");

        Assert.True(closed.Kind == CloseKind.Reset, $"the backend's RST should reach the client as a reset; the client saw {closed}");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public async Task ClientResets_BackendSeesResetPromptly(ForwardingEngine engine)
    {
        var backendSaw = new TaskCompletionSource<Closed>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = LoopbackServer.Start(async (socket, cancellationToken) =>
        {
            var hello = new byte[5];
            await socket.ReceiveExactlyAsync(hello, cancellationToken);
            await socket.SendAllAsync("ready"u8.ToArray(), cancellationToken);
            backendSaw.TrySetResult(await socket.WaitForCloseAsync(TimeSpan.FromSeconds(3), "the backend after the client's RST"));
        });
        await using var forwarder = TestForwarders.Create(engine, output);
        var binding = await forwarder.ListenAsync(backend.Endpoint);

        using var client = await TestSockets.ConnectAsync(binding);
        await ExchangeHelloReadyAsync(client);
        client.Abort();
        var closed = await Bounded.WithinAsync(backendSaw.Task, TestSockets.ShortWait, "the backend to see the client's RST");
        output.WriteLine($"{engine}: backend saw {closed}");

        // A FIN would tell the backend the client finished cleanly, which it did not.
        Assert.True(closed.Kind == CloseKind.Reset, $"the client's RST should reach the backend as a reset; it saw {closed}");
        Assert.True(closed.After < TimeSpan.FromSeconds(1), $"the backend's connection should end promptly; it saw {closed}");
        Assert.Equal(0, closed.BytesBeforeClose);
    }

    private static async Task ExchangeHelloReadyAsync(Socket client)
    {
        var ready = new byte[5];
        await Bounded.WithinAsync(
            async cancellationToken =>
            {
                await client.SendAllAsync("hello"u8.ToArray(), cancellationToken);
                await client.ReceiveExactlyAsync(ready, cancellationToken);
            },
            TestSockets.ShortWait,
            "hello/ready through the forwarder");
        Assert.Equal("ready", Encoding.ASCII.GetString(ready));
    }
}
