using System.Text;
using LoadBalancer.Infrastructure.Forwarding;
using LoadBalancer.Infrastructure.Tests.Forwarding.Support;
using Xunit.Abstractions;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Splice;

[Collection(TcpForwarderCollection.Name)]
public sealed class SpliceEnginePipeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task IdleConnections_HoldNoPipe()
    {
        const int Connections = 100;
        await using var echo = LoopbackServer.StartEcho();
        await using var forwarder = TestForwarders.Create(ForwardingEngine.Splice, output);
        var binding = await forwarder.ListenAsync(echo.Endpoint);
        // Pipes other code let go of but not yet closed (finalizers) must not be counted as the forwarder's.
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

            // Every connection has moved bytes both ways and is now idle. A pipe per direction would be 200 pipes
            // (400 fds); returned pipes are a few, kept in the loops' pools.
            var pipeFds = FileDescriptors.CountByKind().GetValueOrDefault("pipe") - pipesBefore;
            output.WriteLine($"{Connections} idle connections, {pipeFds} pipe fds held by the forwarder");
            Assert.InRange(pipeFds, 0, 2 * 2 * Environment.ProcessorCount * 2);
        }
        finally
        {
            TestSockets.DisposeAll(clients);
        }
    }
}
