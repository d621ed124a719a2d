using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.IoUring;

[Collection(TcpForwarderCollection.Name)]
public sealed class IoUringEngineIdleTests(ITestOutputHelper output)
{
    /// <summary>Small messages never leave the ring buffers, so idle connections hold no pipe (the splice engine keeps a few pooled).</summary>
    [Fact]
    public async Task IdleConnectionsAfterSmallMessages_HoldNoPipe()
    {
        const int Connections = 100;
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(ForwardingEngine.IoUring, output);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var pipesBefore = FileDescriptors.CountByKind().GetValueOrDefault("pipe");
        var clients = new List<System.Net.Sockets.Socket>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                var client = await TestSockets.ConnectAsync(binding);
                clients.Add(client);
                await client.EchoAsync(Encoding.ASCII.GetBytes($"message {i}"));
            }

            var pipeFds = FileDescriptors.CountByKind().GetValueOrDefault("pipe") - pipesBefore;
            output.WriteLine($"{Connections} idle connections, {pipeFds} pipe fds held by the forwarder");
            Assert.Equal(0, pipeFds);
        }
        finally
        {
            TestSockets.DisposeAll(clients);
        }
    }
}
