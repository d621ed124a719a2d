using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.IoUring;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.IoUring;

/// <summary>
/// The backend socket comes from IORING_OP_SOCKET where the kernel has it (5.19), from socket(2) where it does not:
/// both ways forward, retry a refusing backend, and leave no descriptor behind.
/// </summary>
[Collection(TcpForwarderCollection.Name)]
public sealed class IoUringEngineSocketTests(ITestOutputHelper output)
{
    private const int Connections = 20;

    [Fact]
    public void Probe_AnswersForEachOpcode()
    {
        using var ring = Ring.Create(8, out _);

        Assert.True(IoUringSupport.Supports(ring, UringNative.IORING_OP_NOP));
        Assert.False(IoUringSupport.Supports(ring, byte.MaxValue), "no kernel has opcode 255 yet");
    }

    [Fact]
    public async Task BackendSockets_ComeFromTheRing_WhereTheKernelHasTheOpcode()
    {
        bool kernelHasIt;
        using (var ring = Ring.Create(8, out _))
        {
            kernelHasIt = IoUringSupport.Supports(ring, UringNative.IORING_OP_SOCKET);
        }

        await using var echo = LoopbackServer.StartEcho();
        await using var harness = IoUringHarness.Start(echo.Endpoint);
        await EchoThroughAsync(harness);

        output.WriteLine($"IORING_OP_SOCKET supported: {kernelHasIt}; ring sockets: {harness.Engine.RingSockets}");
        Assert.Equal(kernelHasIt ? Connections : 0, harness.Engine.RingSockets);
    }

    [Fact]
    public async Task SocketsInRingTurnedOff_BackendSocketsComeFromSocketCalls()
    {
        await using var echo = LoopbackServer.StartEcho();
        await using var harness = IoUringHarness.Start(echo.Endpoint, socketsInRing: false);

        await EchoThroughAsync(harness);

        Assert.Equal(0, harness.Engine.RingSockets);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RefusingBackendThenLiveOne_EveryDescriptorIsClosed(bool socketsInRing)
    {
        await FileDescriptors.WarmUpSocketsAsync();
        var before = FileDescriptors.CountByKind();
        await using (var echo = LoopbackServer.StartEcho())
        {
            using var refusing = new RefusingPort();
            var options = new ForwarderOptions { EventLoops = 1, MaxConnectAttempts = 3 };
            await using (var refused = IoUringHarness.Start(refusing.Endpoint, options: options, socketsInRing: socketsInRing))
            {
                for (var i = 0; i < 5; i++)
                {
                    var closed = await TestSockets.ConnectAndWaitForCloseAsync(refused.Binding, TestSockets.ShortWait, $"connection {i} to a refusing backend");
                    Assert.Equal(CloseKind.Reset, closed.Kind);
                }
            }

            await using var live = IoUringHarness.Start(echo.Endpoint, socketsInRing: socketsInRing);
            await EchoThroughAsync(live);
        }

        var after = new Dictionary<string, int>();
        await Bounded.UntilAsync(
            () =>
            {
                after = new Dictionary<string, int>(FileDescriptors.CountByKind());
                return after.All(kind => kind.Value <= before.GetValueOrDefault(kind.Key));
            },
            TimeSpan.FromSeconds(5),
            "the process is back to its descriptors",
            () => $"after: {FileDescriptors.Describe(after)}; before: {FileDescriptors.Describe(before)}");
    }

    private static async Task EchoThroughAsync(IoUringHarness harness)
    {
        for (var i = 0; i < Connections; i++)
        {
            using var client = await TestSockets.ConnectAsync(harness.Binding);
            await client.EchoAsync(Encoding.ASCII.GetBytes($"message {i}"));
        }
    }
}
