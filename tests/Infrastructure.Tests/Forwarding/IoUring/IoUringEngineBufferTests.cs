using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Balancing;
using LoadBalancer.Infrastructure.Forwarding.IoUring;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.IoUring;

/// <summary>
/// Splice-auto: a bulk stream leaves the ring buffers for splice(2), a small echo stays in them; a receive that
/// finds the ring empty spills into a buffer of its own instead of waiting. The engine runs
/// on its own listening socket on 127.0.140.x, so its switch counter is this test's alone.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class IoUringEngineBufferTests
{
    [Fact]
    public async Task SmallEcho_StaysInRingBuffers()
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var harness = IoUringHarness.Start(echo.Endpoint);
        using (var client = await TestSockets.ConnectAsync(harness.Binding))
        {
            for (var i = 0; i < 50; i++)
            {
                await client.EchoAsync(System.Text.Encoding.ASCII.GetBytes($"small message {i}"));
            }
        }

        Assert.Equal(0, harness.Engine.SpliceSwitches);
    }

    [Fact]
    public async Task BulkTransfer_SwitchesToSplice_AndArrivesWhole()
    {
        const long Length = 64L * 1024 * 1024;
        await using var sink = LoopbackServer.Start(async (socket, cancellationToken) =>
        {
            // Reads the whole stream, then answers with its digest's length: the client checks the bytes arrived.
            var digest = await socket.ReceiveDigestAsync(cancellationToken);
            await socket.SendAllAsync(System.Text.Encoding.ASCII.GetBytes(digest.Sha256), cancellationToken);
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var harness = IoUringHarness.Start(sink.Endpoint);
        using var client = await TestSockets.ConnectAsync(harness.Binding);
        using var deadline = Bounded.Deadline(TimeSpan.FromSeconds(60));
        var sent = await client.SendSeededAsync(Length, seed: 5, deadline.Token);
        client.Shutdown(SocketShutdown.Send);
        var (answer, _) = await client.ReadToCloseAsync(TimeSpan.FromSeconds(60), "the sink's digest");

        Assert.Equal(sent.Sha256, System.Text.Encoding.ASCII.GetString(answer));
        Assert.True(harness.Engine.SpliceSwitches >= 1, $"the upstream bulk stream should have switched to splice; switches: {harness.Engine.SpliceSwitches}");
    }

    [Fact]
    public async Task EmptyBufferRing_ReceivesSpill_AndEveryEchoArrivesWhole()
    {
        // One ring buffer for twenty connections echoing at once: most receives find the ring empty.
        await using var echo = LoopbackServer.StartEcho();
        await using var harness = IoUringHarness.Start(echo.Endpoint, bufferCount: 1);
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                clients.Add(await TestSockets.ConnectAsync(harness.Binding));
            }

            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                var message = new byte[40_000 + i];
                new SeededBytes((ulong)i + 1).Fill(message);
                for (var round = 0; round < 5; round++)
                {
                    await client.EchoAsync(message, TimeSpan.FromSeconds(20));
                }
            }));
        }
        finally
        {
            TestSockets.DisposeAll(clients);
        }

        Assert.True(harness.Engine.SpillReceives > 0, "with one ring buffer some receive should have found the ring empty");
    }

    [Fact]
    public async Task ConnectToABlackhole_IsEndedByTheLinkedTimeout_AndTheClientReset()
    {
        using var blackhole = await BlackholeBackend.StartAsync();
        var options = new ForwarderOptions { EventLoops = 1, ConnectTimeout = TimeSpan.FromMilliseconds(300), MaxConnectAttempts = 1 };
        await using var harness = IoUringHarness.Start(blackhole.Endpoint, options: options);
        using var client = await TestSockets.ConnectAsync(harness.Binding);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var closed = await client.WaitForCloseAsync(TimeSpan.FromSeconds(5), "the client once its backend's connect timed out");

        Assert.True(closed.Kind == CloseKind.Reset, $"the client should be reset; it saw {closed}");
        Assert.Equal(1, harness.Engine.LinkedTimeouts);

        // The linked timeout fires at 300 ms; the housekeeping backstop would only act a second later.
        Assert.True(started.Elapsed < TimeSpan.FromMilliseconds(1200), $"the connect ended after {started.Elapsed.TotalMilliseconds:F0} ms");
    }
}
